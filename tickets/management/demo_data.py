# ruff: noqa: E501  (catalogue text: long string literals read better unbroken)
"""The demo company: departments, people, service catalogue and conversation snippets.

Plain data, read by `seed_demo` (and by `seed_scale` for its organisation and texts).
Everyone is fictional; every address is @example.com.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- Departments ----------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    description: str
    contact_email: str
    assignment: str  # Department.Assignment value
    auto_close_days: int
    lead: str  # username
    agents: tuple[str, ...]
    weight: int  # share of the demo tickets


DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec(
        code="IT",
        name="IT",
        description=(
            "Laptops, phones and peripherals, accounts and passwords, access to systems, "
            "software licences and new-starter equipment. For outages call extension 4357."
        ),
        contact_email="it-help@example.com",
        assignment="round_robin",
        auto_close_days=5,
        lead="david",
        agents=("priya", "marcus", "lena", "sam"),
        weight=30,
    ),
    DepartmentSpec(
        code="HR",
        name="HR",
        description=(
            "Leave and absence, employment letters, training, payroll questions and "
            "anything about how we work together. Concerns are handled in confidence."
        ),
        contact_email="people@example.com",
        assignment="manual",
        auto_close_days=7,
        lead="rachel",
        agents=("sofia", "nadia", "samuel", "grace"),
        weight=12,
    ),
    DepartmentSpec(
        code="FIN",
        name="Finance",
        description=(
            "Expense claims, supplier invoices, purchase orders and budget questions. "
            "Payment runs are on Tuesdays and Thursdays."
        ),
        contact_email="finance@example.com",
        assignment="fewest_open",
        auto_close_days=7,
        lead="grace",
        agents=("michael", "hannah", "samuel"),
        weight=12,
    ),
    DepartmentSpec(
        code="FAC",
        name="Facilities",
        description=(
            "Repairs, meeting rooms and events on site, desk moves, badges and parking. "
            "For anything dangerous call reception on extension 100 first."
        ),
        contact_email="facilities@example.com",
        assignment="round_robin",
        auto_close_days=3,
        lead="frank",
        agents=("maria", "joseph", "linda"),
        weight=12,
    ),
    DepartmentSpec(
        code="MKT",
        name="Marketing",
        description=(
            "Design work, website changes, event support and brand approvals for any team "
            "that talks to customers, partners or the press."
        ),
        contact_email="marketing@example.com",
        assignment="manual",
        auto_close_days=10,
        lead="laura",
        agents=("chloe", "ryan", "zoe"),
        weight=8,
    ),
    DepartmentSpec(
        code="SAL",
        name="Sales",
        description=(
            "Sales operations: discount approvals, quotes, CRM reports and data fixes, and "
            "help from a sales engineer with a prospect."
        ),
        contact_email="sales-ops@example.com",
        assignment="fewest_open",
        auto_close_days=7,
        lead="robert",
        agents=("jessica", "ella", "ian"),
        weight=7,
    ),
    DepartmentSpec(
        code="CS",
        name="Customer Support",
        description=(
            "Customer escalations from any team, refunds and credits, account look-ups and "
            "new help-centre articles."
        ),
        contact_email="support-team@example.com",
        assignment="round_robin",
        auto_close_days=5,
        lead="sarah",
        agents=("diego", "fatima", "julia"),
        weight=7,
    ),
    DepartmentSpec(
        code="ENG",
        name="Engineering",
        description=(
            "Bugs in our internal tools, feature requests, data exports and production "
            "access. Customer-facing incidents go to Customer Support first."
        ),
        contact_email="eng-requests@example.com",
        assignment="manual",
        auto_close_days=14,
        lead="alex",
        agents=("wei", "omar", "raj"),
        weight=12,
    ),
)


# --- People ---------------------------------------------------------------------------
# (username, first name, last name, job title, home department code, manager's username)

PEOPLE: tuple[tuple[str, str, str, str, str, str | None], ...] = (
    # IT
    ("david", "David", "Chen", "Head of IT", "IT", None),
    ("priya", "Priya", "Patel", "IT Support Specialist", "IT", "david"),
    ("marcus", "Marcus", "Johnson", "Systems Administrator", "IT", "david"),
    ("lena", "Lena", "Fischer", "IT Support Specialist", "IT", "david"),
    ("tom", "Tom", "Nguyen", "Network Engineer", "IT", "david"),
    ("aisha", "Aisha", "Bello", "Security Analyst", "IT", "david"),
    ("kevin", "Kevin", "O'Brien", "Service Desk Analyst", "IT", "david"),
    ("yuki", "Yuki", "Tanaka", "IT Asset Coordinator", "IT", "david"),
    # HR
    ("rachel", "Rachel", "Adams", "HR Director", "HR", None),
    ("sofia", "Sofia", "Martins", "HR Generalist", "HR", "rachel"),
    ("james", "James", "Whitaker", "Talent Acquisition Partner", "HR", "rachel"),
    ("nadia", "Nadia", "Haddad", "HR Business Partner", "HR", "rachel"),
    ("olivia", "Olivia", "Grant", "People Operations Coordinator", "HR", "rachel"),
    ("ben", "Ben", "Carter", "Learning & Development Specialist", "HR", "rachel"),
    # Finance
    ("grace", "Grace", "Liu", "Finance Director", "FIN", None),
    ("michael", "Michael", "Brennan", "Senior Accountant", "FIN", "victor"),
    ("hannah", "Hannah", "Kowalski", "Accounts Payable Specialist", "FIN", "victor"),
    ("samuel", "Samuel", "Mensah", "Payroll Specialist", "FIN", "grace"),
    ("irene", "Irene", "Costa", "Financial Analyst", "FIN", "grace"),
    ("victor", "Victor", "Alvarez", "Financial Controller", "FIN", "grace"),
    ("ruth", "Ruth", "Goldberg", "Accounts Receivable Clerk", "FIN", "victor"),
    # Facilities
    ("frank", "Frank", "Miller", "Facilities Manager", "FAC", None),
    ("maria", "Maria", "Gonzalez", "Office Coordinator", "FAC", "frank"),
    ("joseph", "Joseph", "Kim", "Maintenance Technician", "FAC", "frank"),
    ("linda", "Linda", "Evans", "Receptionist", "FAC", "maria"),
    ("ahmed", "Ahmed", "Rahman", "Health & Safety Officer", "FAC", "frank"),
    # Marketing
    ("laura", "Laura", "Bennett", "Marketing Director", "MKT", None),
    ("emma", "Emma", "Wilson", "Content Marketing Manager", "MKT", "laura"),
    ("chloe", "Chloe", "Dubois", "Graphic Designer", "MKT", "zoe"),
    ("ryan", "Ryan", "Murphy", "Digital Marketing Specialist", "MKT", "laura"),
    ("zoe", "Zoe", "Clarke", "Brand Manager", "MKT", "laura"),
    ("noah", "Noah", "Fernandes", "Marketing Coordinator", "MKT", "emma"),
    ("isabel", "Isabel", "Rossi", "Events Manager", "MKT", "laura"),
    ("owen", "Owen", "Price", "SEO Specialist", "MKT", "ryan"),
    # Sales
    ("robert", "Robert", "Hughes", "VP of Sales", "SAL", None),
    ("jessica", "Jessica", "Park", "Sales Operations Manager", "SAL", "robert"),
    ("daniel", "Daniel", "Schmidt", "Account Executive", "SAL", "henry"),
    ("mia", "Mia", "Anderson", "Account Executive", "SAL", "henry"),
    ("lucas", "Lucas", "Silva", "Sales Development Representative", "SAL", "henry"),
    ("ella", "Ella", "Thompson", "Sales Operations Analyst", "SAL", "jessica"),
    ("henry", "Henry", "Walsh", "Regional Sales Manager", "SAL", "robert"),
    ("amara", "Amara", "Okafor", "Account Manager", "SAL", "henry"),
    ("ian", "Ian", "Douglas", "Sales Engineer", "SAL", "robert"),
    # Customer Support
    ("sarah", "Sarah", "Mitchell", "Head of Customer Support", "CS", None),
    ("diego", "Diego", "Ramirez", "Support Team Lead", "CS", "sarah"),
    ("fatima", "Fatima", "Ali", "Customer Support Specialist", "CS", "diego"),
    ("peter", "Peter", "Novak", "Customer Support Specialist", "CS", "diego"),
    ("julia", "Julia", "Weber", "Customer Success Manager", "CS", "sarah"),
    ("andre", "André", "Baptiste", "Support Specialist", "CS", "diego"),
    ("kate", "Kate", "Sullivan", "Knowledge Base Editor", "CS", "sarah"),
    ("leo", "Leo", "Martin", "Technical Support Engineer", "CS", "diego"),
    ("nina", "Nina", "Petrova", "Support Specialist", "CS", "diego"),
    # Engineering
    ("alex", "Alex", "Morgan", "VP of Engineering", "ENG", None),
    ("wei", "Wei", "Zhang", "Staff Engineer", "ENG", "jonas"),
    ("omar", "Omar", "Hassan", "Backend Engineer", "ENG", "jonas"),
    ("claire", "Claire", "Dupont", "Frontend Engineer", "ENG", "jonas"),
    ("raj", "Raj", "Malhotra", "Data Engineer", "ENG", "alex"),
    ("anna", "Anna", "Berg", "QA Engineer", "ENG", "jonas"),
    ("sam", "Sam", "Taylor", "DevOps Engineer", "ENG", "alex"),
    ("tyler", "Tyler", "Brooks", "Mobile Engineer", "ENG", "jonas"),
    ("eva", "Eva", "Horvath", "Product Designer", "ENG", "alex"),
    ("jonas", "Jonas", "Lindqvist", "Engineering Manager", "ENG", "alex"),
)

# Files a few more requests than the others, so her "My requests" page has content.
FREQUENT_REQUESTERS = {"emma": 4, "daniel": 3, "claire": 3, "noah": 2}

# The logins worth knowing, printed at the end of seed_demo.
USEFUL_LOGINS: tuple[tuple[str, str], ...] = (
    ("admin", "superuser: Django admin, every department"),
    ("david", "IT lead (Head of IT)"),
    ("priya", "IT agent"),
    ("sofia", "HR agent (sees confidential HR requests)"),
    ("emma", "employee in Marketing (files requests)"),
)


# --- Service catalogue ----------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    kind: str  # RequestField.Kind value
    required: bool = False
    choices: tuple[str, ...] = ()
    help_text: str = ""
    samples: tuple[str, ...] = ()  # text / long text answers
    number: tuple[int, int] = (1, 10)  # number answers: inclusive range
    days: tuple[int, int] = (0, 14)  # date answers: days from filing


@dataclass(frozen=True)
class Story:
    title: str
    description: str
    extra: dict[str, object] = field(default_factory=dict)  # fixed answers for this story


@dataclass(frozen=True)
class RequestTypeSpec:
    name: str
    description: str
    fields: tuple[FieldSpec, ...]
    stories: tuple[Story, ...]
    resolutions: tuple[str, ...]
    questions: tuple[str, ...] = ()  # an agent asks the requester (the ticket waits)
    answers: tuple[str, ...] = ()  # the requester's answers
    notes: tuple[str, ...] = ()  # internal notes
    priority: int = 2
    confidential: bool = False
    sla_exempt: bool = False  # "no SLA": planned work, prioritised with the team
    weight: int = 3


def text(
    key: str, label: str, *samples: str, required: bool = False, help_text: str = ""
) -> FieldSpec:
    return FieldSpec(key, label, "text", required, samples=samples, help_text=help_text)


def long_text(key: str, label: str, *samples: str, required: bool = False) -> FieldSpec:
    return FieldSpec(key, label, "long_text", required, samples=samples)


def choice(
    key: str, label: str, *choices: str, required: bool = False, help_text: str = ""
) -> FieldSpec:
    return FieldSpec(key, label, "choice", required, choices=choices, help_text=help_text)


def date(
    key: str, label: str, days: tuple[int, int], *, required: bool = False, help_text: str = ""
) -> FieldSpec:
    return FieldSpec(key, label, "date", required, days=days, help_text=help_text)


def number(
    key: str, label: str, low: int, high: int, *, required: bool = False, help_text: str = ""
) -> FieldSpec:
    return FieldSpec(key, label, "number", required, number=(low, high), help_text=help_text)


def yes_no(key: str, label: str, *, required: bool = False, help_text: str = "") -> FieldSpec:
    return FieldSpec(key, label, "yes_no", required, help_text=help_text)


REQUEST_TYPES: dict[str, tuple[RequestTypeSpec, ...]] = {
    "IT": (
        RequestTypeSpec(
            name="Laptop or hardware problem",
            description="Something is broken or misbehaving: laptop, monitor, dock, headset or phone.",
            weight=6,
            fields=(
                choice(
                    "device",
                    "Device",
                    "Laptop",
                    "Monitor",
                    "Docking station",
                    "Keyboard or mouse",
                    "Headset",
                    "Mobile phone",
                    required=True,
                ),
                text(
                    "asset_tag",
                    "Asset tag",
                    "LT-0421",
                    "LT-0388",
                    "MN-1207",
                    "DK-0093",
                    "LT-0517",
                    "PH-0230",
                    help_text="On the sticker under the device, e.g. LT-0421.",
                ),
                yes_no("can_work", "Can you still work?", required=True),
            ),
            stories=(
                Story(
                    "Laptop fan very loud and laptop gets hot",
                    "Since yesterday my laptop's fan runs at full speed even with only email open, and the keyboard gets hot. It also slows down during video calls.",
                    {"device": "Laptop"},
                ),
                Story(
                    "Second monitor not detected through the dock",
                    "My second screen stays black when I plug in the docking station. It works if I connect it directly with HDMI. I tried another cable.",
                    {"device": "Docking station"},
                ),
                Story(
                    "Laptop battery drains in an hour",
                    "The battery goes from full to 10% in about an hour, even on battery saver. The laptop is about three years old.",
                    {"device": "Laptop"},
                ),
                Story(
                    "Headset microphone not working in Teams",
                    "People can't hear me in Teams calls with my headset. The headset works on my phone. I have already selected it in the Teams settings.",
                    {"device": "Headset"},
                ),
                Story(
                    "Cracked laptop screen",
                    "I dropped my bag on the train and the screen now has a crack across the bottom left corner. It still works but there are lines on it.",
                    {"device": "Laptop"},
                ),
                Story(
                    "Keyboard keys stuck after spill",
                    "I spilled a little coffee on my keyboard; the E and R keys now stick. I'm using the laptop keyboard for now.",
                    {"device": "Keyboard or mouse"},
                ),
                Story(
                    "Phone won't sync work email",
                    "My work phone stopped receiving email on Monday. Calendar still syncs. I have restarted it twice.",
                    {"device": "Mobile phone"},
                ),
            ),
            questions=(
                "Could you send me the asset tag (the sticker under the laptop) and tell me when you're at your desk today? I'd like to connect remotely for ten minutes.",
                "Can you try a different USB-C port on the laptop and let me know if that changes anything?",
                "Which floor do you sit on? I can bring a replacement over if that's easier than a courier.",
            ),
            answers=(
                "The tag is LT-0421. I'm at my desk until 4 pm, call me any time.",
                "Tried the other port, same problem unfortunately.",
                "I'm on the 3rd floor, desk 3.14, near the kitchen.",
            ),
            resolutions=(
                "I've replaced the docking station with a new one and updated its firmware. Both screens work now. Let us know if it happens again.",
                "Your replacement laptop is ready and your files have been restored from OneDrive. Please return the old one to the IT desk this week.",
                "The driver update fixed it on our test. I've pushed it to your laptop as well; a restart is needed.",
                "A new headset is on its way to your desk. The old one had a faulty microphone cable.",
            ),
            notes=(
                "Warranty still valid until next March, raising a repair case with the vendor.",
                "Third dock failure this month on that model. Raising with the supplier.",
                "Spare laptop LT-0602 reserved for this in the cupboard.",
            ),
        ),
        RequestTypeSpec(
            name="Password or account locked",
            description="You cannot sign in: locked account, expired password, lost MFA device.",
            priority=3,
            weight=4,
            fields=(
                choice(
                    "account",
                    "Which account?",
                    "Company sign-in (SSO)",
                    "Email",
                    "VPN",
                    "Salesforce",
                    "Other",
                    required=True,
                ),
                yes_no("mfa_lost", "Have you lost your authenticator phone?"),
            ),
            stories=(
                Story(
                    "Locked out after password change",
                    "I changed my password this morning and now I'm locked out everywhere. My phone still has the old password for email, maybe that's why.",
                    {"account": "Company sign-in (SSO)"},
                ),
                Story(
                    "New phone, can't get MFA codes",
                    "I got a new phone and didn't move the authenticator app. I can't sign in to anything that asks for a code.",
                    {"account": "Company sign-in (SSO)", "mfa_lost": True},
                ),
                Story(
                    "VPN says my password expired",
                    "VPN refuses my password with 'password expired' but I can still sign in to email on the web.",
                    {"account": "VPN"},
                ),
                Story(
                    "Salesforce account locked",
                    "Salesforce says my account is locked after too many attempts. I have a customer call in an hour.",
                    {"account": "Salesforce"},
                ),
            ),
            questions=(
                "To verify it's you, please call the service desk on extension 4357 from your desk phone, or come by the IT desk with your badge.",
            ),
            answers=(
                "Just called, thanks. Ready when you are.",
                "I'll come by the IT desk after lunch.",
            ),
            resolutions=(
                "Your account is unlocked and I've set a temporary password, sent by text to your phone. You'll be asked to change it at the next sign-in.",
                "MFA is reset. When you next sign in you'll be asked to register the authenticator app on your new phone.",
                "The old password saved on your phone kept locking the account. I removed the device session; you should be fine now.",
            ),
            notes=(
                "Identity verified by phone callback.",
                "Lockouts coming from an old phone profile, removed it in Intune.",
            ),
        ),
        RequestTypeSpec(
            name="Access request",
            description="Access to a system, shared drive or group. Your manager may be asked to approve.",
            weight=5,
            fields=(
                choice(
                    "system",
                    "System",
                    "VPN",
                    "Salesforce",
                    "Jira",
                    "Shared drive",
                    "GitHub",
                    "NetSuite",
                    "Tableau",
                    required=True,
                ),
                choice("access_level", "Access level", "Read only", "Edit", "Admin", required=True),
                date("needed_by", "Needed by", (1, 14)),
                long_text(
                    "reason",
                    "Why do you need it?",
                    "I'm taking over the quarterly reporting from a colleague who is leaving.",
                    "New project starting next week with the partner team.",
                    "Covering for my manager during her leave.",
                ),
            ),
            stories=(
                Story(
                    "Access to the Finance shared drive",
                    "I need read access to the Finance > Budgets shared folder to prepare our department budget for next year.",
                    {"system": "Shared drive", "access_level": "Read only"},
                ),
                Story(
                    "Jira access for the website project",
                    "Please give me access to the WEB project in Jira, I'm joining the website redesign.",
                    {"system": "Jira", "access_level": "Edit"},
                ),
                Story(
                    "Tableau licence for sales dashboards",
                    "I'd like a Tableau viewer licence to see the regional sales dashboards.",
                    {"system": "Tableau", "access_level": "Read only"},
                ),
                Story(
                    "GitHub access for new contractor",
                    "Our contractor starts Monday and needs access to the mobile app repository.",
                    {"system": "GitHub", "access_level": "Edit"},
                ),
                Story(
                    "VPN access to work from home",
                    "I'm starting to work from home two days a week and need VPN access.",
                    {"system": "VPN", "access_level": "Read only"},
                ),
            ),
            questions=(
                "We need your manager's approval for this one. Could you ask them to reply here, or forward their OK?",
                "Which folder exactly? The Finance drive has separate folders per year.",
            ),
            answers=(
                "My manager approved by email, I've forwarded it to it-help@example.com.",
                "The 2025 budgets folder, read only is enough.",
            ),
            resolutions=(
                "Access granted. It can take up to an hour to show up; sign out and back in if you don't see it.",
                "Done: you're in the group with the access you asked for. It will be reviewed in the quarterly access review.",
            ),
            notes=(
                "Approval received from the manager, adding to the AD group.",
                "Admin access not justified, granting Edit instead.",
            ),
        ),
        RequestTypeSpec(
            name="New software or licence",
            description="Install software or request a licence. Check the approved software list first.",
            weight=3,
            fields=(
                text(
                    "software",
                    "Software",
                    "Adobe Acrobat Pro",
                    "Figma",
                    "Visio",
                    "Miro",
                    "Power BI Pro",
                    "Python 3.12",
                    "Camtasia",
                    required=True,
                ),
                number("licences", "Number of licences", 1, 5),
                long_text(
                    "business_reason",
                    "Business reason",
                    "Needed to edit and sign supplier contracts.",
                    "The team is moving its planning boards to this tool.",
                    "We need it for the customer training videos.",
                    required=True,
                ),
            ),
            stories=(
                Story(
                    "Adobe Acrobat Pro licence",
                    "I need to edit PDFs and collect signatures on supplier contracts. The free reader isn't enough.",
                    {"software": "Adobe Acrobat Pro"},
                ),
                Story(
                    "Install Visio for network diagrams",
                    "Please install Visio on my laptop, I have to maintain the office network diagrams.",
                    {"software": "Visio"},
                ),
                Story(
                    "Miro licences for the marketing team",
                    "We'd like three Miro licences for planning workshops with the agencies.",
                    {"software": "Miro", "licences": 3},
                ),
                Story(
                    "Power BI Pro licence",
                    "I need to publish our team dashboard to the shared workspace.",
                    {"software": "Power BI Pro"},
                ),
            ),
            questions=(
                "Is this for a project with its own budget, or should it come from the department's software budget?",
            ),
            answers=("Department budget please, it's been approved in our plan.",),
            resolutions=(
                "Licence assigned. Sign out of the app and in again to activate it.",
                "Installed through Company Portal, you'll find it in the Start menu.",
            ),
            notes=("Two spare licences left in the pool after this one.",),
        ),
        RequestTypeSpec(
            name="New starter setup",
            description="Laptop, accounts and access for someone joining. Please ask at least 5 working days ahead.",
            weight=3,
            fields=(
                text(
                    "starter_name",
                    "Name of the new starter",
                    "Hugo Lambert",
                    "Amelia Wright",
                    "Kenji Sato",
                    "Lucia Moreno",
                    "Tariq Aziz",
                    required=True,
                ),
                date("start_date", "Start date", (5, 30), required=True),
                choice(
                    "equipment",
                    "Equipment",
                    "Standard laptop",
                    "Developer laptop",
                    "Designer laptop",
                    required=True,
                ),
                yes_no("needs_phone", "Needs a mobile phone?"),
                long_text(
                    "access",
                    "Access needed",
                    "Same as the rest of the team: Jira, shared drive, Salesforce read only.",
                    "Email, Teams and the Marketing shared drive.",
                ),
            ),
            stories=(
                Story(
                    "New starter in Sales: Hugo Lambert",
                    "Hugo joins as Account Executive. Please set up a laptop, email and Salesforce.",
                    {"starter_name": "Hugo Lambert", "equipment": "Standard laptop"},
                ),
                Story(
                    "Developer joining the mobile team",
                    "Kenji joins the mobile team. He needs a developer laptop, GitHub and the test phones.",
                    {"starter_name": "Kenji Sato", "equipment": "Developer laptop"},
                ),
                Story(
                    "Designer starting next month",
                    "Amelia joins Marketing as a designer. She'll need the Adobe suite and a large monitor.",
                    {"starter_name": "Amelia Wright", "equipment": "Designer laptop"},
                ),
            ),
            questions=("Could you confirm the start date and the desk they will sit at?",),
            answers=("Start date is confirmed. Desk 2.08, next to me.",),
            resolutions=(
                "All set: laptop imaged, accounts created, the welcome email with first-day sign-in steps goes to the manager the day before.",
                "Equipment is ready at the IT desk for collection on the first morning.",
            ),
            notes=("Laptop ordered, delivery expected in 3 working days.",),
        ),
    ),
    "HR": (
        RequestTypeSpec(
            name="Leave or absence question",
            description="Questions about annual leave, sick leave, parental leave or unpaid leave.",
            weight=5,
            fields=(
                choice(
                    "leave_type",
                    "Type of leave",
                    "Annual leave",
                    "Sick leave",
                    "Parental leave",
                    "Unpaid leave",
                    "Other",
                    required=True,
                ),
                date("leave_from", "From", (3, 60)),
                date("leave_until", "Until", (10, 90)),
            ),
            stories=(
                Story(
                    "How many leave days can I carry over?",
                    "I still have 8 days of leave this year. How many can I carry over to next year, and until when do I have to use them?",
                    {"leave_type": "Annual leave"},
                ),
                Story(
                    "Parental leave from next spring",
                    "We're expecting a baby in the spring. What do I need to do to request parental leave, and how long can I take?",
                    {"leave_type": "Parental leave"},
                ),
                Story(
                    "Sick leave balance looks wrong",
                    "The portal shows 4 sick days taken this year but I only had 2. Could you check?",
                    {"leave_type": "Sick leave"},
                ),
                Story(
                    "Unpaid leave for a family matter",
                    "I'd like to take two weeks of unpaid leave next month for a family matter. Is that possible?",
                    {"leave_type": "Unpaid leave"},
                ),
            ),
            questions=(
                "Could you tell me the dates you have in mind? I'll check them against the team calendar with your manager.",
            ),
            answers=("Roughly the first two weeks of next month, flexible by a few days.",),
            resolutions=(
                "You can carry over up to 5 days, to be used before the end of March. The remaining 3 days you can still plan this year.",
                "I've corrected your sick leave record; the portal will show the right balance tomorrow.",
                "Your leave is approved and recorded. I've sent you the form for the payroll side by email.",
            ),
            notes=("Checked with the manager, no objection.",),
        ),
        RequestTypeSpec(
            name="Employment letter",
            description="Proof of employment, salary confirmation, visa support or a reference.",
            weight=3,
            fields=(
                choice(
                    "letter_type",
                    "Type of letter",
                    "Proof of employment",
                    "Salary confirmation",
                    "Visa support",
                    "Reference",
                    required=True,
                ),
                text(
                    "addressed_to",
                    "Addressed to",
                    "My bank",
                    "The embassy",
                    "My landlord",
                    "To whom it may concern",
                ),
                date("needed_by", "Needed by", (2, 14)),
            ),
            stories=(
                Story(
                    "Salary confirmation for my mortgage",
                    "My bank needs a salary confirmation letter for a mortgage application.",
                    {"letter_type": "Salary confirmation", "addressed_to": "My bank"},
                ),
                Story(
                    "Proof of employment for rental application",
                    "My future landlord asks for a proof of employment.",
                    {"letter_type": "Proof of employment", "addressed_to": "My landlord"},
                ),
                Story(
                    "Visa support letter for a conference",
                    "I'm speaking at a conference abroad and need a letter for the visa application.",
                    {"letter_type": "Visa support", "addressed_to": "The embassy"},
                ),
            ),
            questions=("Does the bank need the gross or net salary, and monthly or yearly?",),
            answers=("Gross yearly salary, please.",),
            resolutions=(
                "The signed letter is attached to your profile in the HR portal, and the original is in your pigeonhole.",
                "Letter sent to you by email as a signed PDF.",
            ),
        ),
        RequestTypeSpec(
            name="Payroll correction",
            description="Something is wrong on your payslip. Only HR and payroll can see these requests.",
            priority=3,
            confidential=True,
            weight=3,
            fields=(
                date("pay_date", "Pay date of the payslip", (-30, 0), required=True),
                number("amount", "Amount in question (EUR)", 20, 2500, required=True),
                long_text(
                    "details",
                    "What looks wrong?",
                    "My overtime from last month is missing.",
                    "The travel allowance was deducted twice.",
                    "My new salary since the promotion is not applied yet.",
                ),
            ),
            stories=(
                Story(
                    "Overtime missing from last payslip",
                    "The 12 hours of overtime I worked during the quarter close are not on my payslip.",
                ),
                Story(
                    "Salary increase not applied",
                    "My raise from the last review should apply from this month, but the payslip still shows the old salary.",
                ),
                Story(
                    "Pension contribution deducted twice",
                    "The pension contribution appears twice on this month's payslip.",
                ),
            ),
            questions=(
                "Could you upload the approved overtime sheet, or tell me who approved it?",
            ),
            answers=("My manager approved it in the time tracking tool last month.",),
            resolutions=(
                "Confirmed and corrected: the difference will be paid with the next salary run and shown as a separate line.",
                "We've refunded the double deduction by bank transfer today.",
            ),
            notes=(
                "Payroll checked, the correction goes in the next run.",
                "Approval was missing in the tool; confirmed with the manager by phone.",
            ),
        ),
        RequestTypeSpec(
            name="Report a concern",
            description="Raise a concern about conduct, safety or discrimination. Handled in confidence by HR.",
            priority=3,
            confidential=True,
            weight=1,
            fields=(
                choice(
                    "concern_type",
                    "Type of concern",
                    "Workplace conduct",
                    "Harassment",
                    "Discrimination",
                    "Health or safety",
                    "Other",
                    required=True,
                ),
                date("happened_on", "When did it happen?", (-30, 0)),
                yes_no("meet_in_person", "Would you like to talk in person?", required=True),
            ),
            stories=(
                Story(
                    "Concern about behaviour in team meetings",
                    "I'd like to talk to someone about how some colleagues are treated in our weekly meeting. I'd rather discuss it in person.",
                ),
                Story(
                    "Comments during the offsite",
                    "Some comments during the team offsite made several of us uncomfortable. I want to report it.",
                ),
                Story(
                    "Workload and overtime pressure",
                    "Our team is regularly asked to work late without it being recorded. I'm worried about people burning out.",
                ),
            ),
            questions=(
                "Thank you for raising this. Would Thursday at 10:00 in the small meeting room on the 2nd floor work for a confidential conversation?",
            ),
            answers=("Thursday at 10 works, thank you.",),
            resolutions=(
                "Thank you for meeting with us. We've agreed the next steps together and will follow up with you directly; I'm resolving this request to keep the record.",
            ),
            notes=("Meeting held, notes filed in the confidential case folder.",),
        ),
        RequestTypeSpec(
            name="Training request",
            description="Courses, certifications and conferences. Check the budget with your manager first.",
            weight=3,
            fields=(
                text(
                    "course",
                    "Course or event",
                    "AWS Solutions Architect Associate",
                    "Advanced Excel",
                    "Project Management Professional (PMP)",
                    "Negotiation skills workshop",
                    "SaaStr Annual",
                    required=True,
                ),
                number("cost", "Cost (EUR)", 150, 3000),
                date("start_date", "Start date", (14, 90)),
                yes_no("manager_approved", "Has your manager approved it?", required=True),
            ),
            stories=(
                Story(
                    "AWS certification course",
                    "I'd like to take the AWS Solutions Architect course and the exam this quarter.",
                    {"course": "AWS Solutions Architect Associate"},
                ),
                Story(
                    "Advanced Excel training",
                    "An advanced Excel course would help me a lot with the monthly reports.",
                    {"course": "Advanced Excel"},
                ),
                Story(
                    "Negotiation workshop for account managers",
                    "Could three of us join the negotiation skills workshop next month?",
                    {"course": "Negotiation skills workshop"},
                ),
            ),
            questions=(
                "Your manager hasn't confirmed the budget yet. Could you ask them to reply here?",
            ),
            answers=("My manager confirmed in our 1:1, she'll reply here too.",),
            resolutions=(
                "Approved and booked. You'll receive the joining instructions from the provider.",
            ),
        ),
    ),
    "FIN": (
        RequestTypeSpec(
            name="Expense reimbursement",
            description="Claim back business expenses. Attach the receipts; claims over 90 days old are not accepted.",
            weight=6,
            fields=(
                number("amount", "Amount (EUR)", 12, 1800, required=True),
                date("expense_date", "Date of the expense", (-45, 0), required=True),
                choice(
                    "category",
                    "Category",
                    "Travel",
                    "Meals",
                    "Accommodation",
                    "Software",
                    "Equipment",
                    "Training",
                    "Other",
                    required=True,
                ),
                yes_no("has_receipt", "Do you have the receipt?", required=True),
            ),
            stories=(
                Story(
                    "Hotel and train for customer visit in Lyon",
                    "Two nights in Lyon for the customer workshop, plus the train tickets. Receipts attached.",
                    {"category": "Accommodation"},
                ),
                Story(
                    "Team lunch with the partner agency",
                    "Lunch with the agency team after the campaign kick-off, 6 people.",
                    {"category": "Meals"},
                ),
                Story(
                    "Taxi to the airport",
                    "Taxi to the airport for the trade show, early flight so no public transport.",
                    {"category": "Travel"},
                ),
                Story(
                    "Conference ticket paid with my own card",
                    "I paid the conference ticket with my personal card because the company card was blocked.",
                    {"category": "Training"},
                ),
            ),
            questions=(
                "The receipt for the taxi is missing. Could you attach it, or a bank statement line if you lost it?",
                "Could you tell me which cost centre this should be booked on?",
            ),
            answers=(
                "Attached the bank statement, the paper receipt is lost, sorry.",
                "Cost centre 4100, Marketing.",
            ),
            resolutions=(
                "Approved, the amount will be paid with the next expense run on Thursday.",
                "Reimbursed today; you'll see it on your account in one or two working days.",
            ),
            notes=(
                "Within policy limits, approving.",
                "Meal above the per-person limit, approved by the department lead.",
            ),
        ),
        RequestTypeSpec(
            name="Supplier invoice payment",
            description="Ask us to pay a supplier invoice, or check why one hasn't been paid.",
            weight=4,
            fields=(
                text(
                    "supplier",
                    "Supplier",
                    "Northwind Traders",
                    "Contoso Printing",
                    "Globex Catering",
                    "Initech Consulting",
                    "Acme Office Supplies",
                    required=True,
                ),
                text(
                    "invoice_number",
                    "Invoice number",
                    "INV-20931",
                    "2025-0417",
                    "NW-88213",
                    "GC/1192",
                    required=True,
                ),
                number("amount", "Amount (EUR)", 150, 24000, required=True),
                date("due_date", "Due date", (-10, 30)),
            ),
            stories=(
                Story(
                    "Supplier chasing an unpaid invoice",
                    "Northwind Traders says their invoice from last month is still unpaid and threatens to stop deliveries.",
                    {"supplier": "Northwind Traders"},
                ),
                Story(
                    "Please pay the catering invoice",
                    "Invoice for the catering at the customer event, approved by me as budget owner.",
                    {"supplier": "Globex Catering"},
                ),
                Story(
                    "Invoice sent to the wrong address",
                    "Contoso sent their invoice to my personal email; forwarding it so it can be paid.",
                    {"supplier": "Contoso Printing"},
                ),
            ),
            questions=("The invoice has no PO number. Was a purchase order raised for this?",),
            answers=("No PO, it was below the threshold. I'm the budget owner and approve it.",),
            resolutions=(
                "Paid in today's payment run. The supplier should receive it within two working days.",
                "The invoice was on hold for a missing PO; it's now approved and scheduled for Thursday's run.",
            ),
            notes=(
                "Duplicate of an invoice already paid in March? Checked: different amount, not a duplicate.",
            ),
        ),
        RequestTypeSpec(
            name="Purchase order",
            description="Raise a purchase order before ordering goods or services above EUR 1,000.",
            weight=3,
            fields=(
                text(
                    "vendor",
                    "Vendor",
                    "Dell Technologies",
                    "Initech Consulting",
                    "Contoso Printing",
                    "Fabrikam Furniture",
                    required=True,
                ),
                number("amount", "Amount (EUR)", 1000, 60000, required=True),
                choice("budget", "Budget", "Operating (OPEX)", "Investment (CAPEX)", required=True),
                long_text(
                    "justification",
                    "Justification",
                    "Replacement of laptops older than four years.",
                    "Agency support for the spring campaign.",
                    "New chairs for the second floor after the office move.",
                ),
            ),
            stories=(
                Story(
                    "PO for 12 replacement laptops",
                    "Quarterly laptop replacement, quote from Dell attached.",
                    {"vendor": "Dell Technologies", "budget": "Investment (CAPEX)"},
                ),
                Story(
                    "PO for the campaign agency",
                    "Agency support for the spring campaign, 40 hours at the agreed rate.",
                    {"vendor": "Initech Consulting", "budget": "Operating (OPEX)"},
                ),
                Story(
                    "Office chairs for the new floor",
                    "30 chairs for the second floor, quote attached.",
                    {"vendor": "Fabrikam Furniture"},
                ),
            ),
            questions=("Could you attach the signed quote? We can't raise the PO without it.",),
            answers=("Signed quote attached now.",),
            resolutions=(
                "PO raised and sent to the vendor. Please quote the PO number on the invoice.",
            ),
        ),
        RequestTypeSpec(
            name="Salary advance",
            description="Ask for an advance on your salary. Confidential: only Finance sees these requests.",
            priority=2,
            confidential=True,
            weight=1,
            fields=(
                number("amount", "Amount (EUR)", 300, 3000, required=True),
                number("repayment_months", "Repay over how many months?", 1, 6, required=True),
                long_text(
                    "reason",
                    "Reason (optional)",
                    "Unexpected car repair.",
                    "Deposit for a new flat.",
                ),
            ),
            stories=(
                Story(
                    "Salary advance for a rent deposit",
                    "I'm moving and need to pay a deposit before my next salary. I'd like to repay it over three months.",
                ),
                Story(
                    "Advance for an urgent repair",
                    "My car broke down and I need it to get to work. Could I get an advance on this month's salary?",
                ),
            ),
            resolutions=(
                "Approved. The advance is paid today and will be deducted in equal parts from your next salaries.",
            ),
            notes=("Within the policy limit of one month's net salary.",),
        ),
    ),
    "FAC": (
        RequestTypeSpec(
            name="Repair or maintenance",
            description="Something in the building needs fixing: heating, lights, doors, furniture, plumbing.",
            weight=6,
            fields=(
                text(
                    "location",
                    "Where?",
                    "2nd floor, kitchen",
                    "Meeting room Atlas",
                    "3rd floor, desk 3.14",
                    "Ground floor toilets",
                    "Car park, level -1",
                    required=True,
                    help_text="Building, floor and room or desk.",
                ),
                choice(
                    "issue",
                    "What kind of problem?",
                    "Heating or air conditioning",
                    "Lighting",
                    "Plumbing",
                    "Doors and locks",
                    "Furniture",
                    "Other",
                    required=True,
                ),
                yes_no("hazard", "Is it a safety hazard?", required=True),
            ),
            stories=(
                Story(
                    "Air conditioning too cold on the 3rd floor",
                    "It's freezing near the windows on the 3rd floor, several people are wearing coats.",
                    {"issue": "Heating or air conditioning", "location": "3rd floor, open space"},
                ),
                Story(
                    "Flickering light in meeting room Atlas",
                    "One of the ceiling lights in Atlas flickers constantly, it's hard to sit through a meeting.",
                    {"issue": "Lighting", "location": "Meeting room Atlas"},
                ),
                Story(
                    "Leaking tap in the 2nd floor kitchen",
                    "The cold water tap in the kitchen keeps dripping and there's a puddle under the sink.",
                    {"issue": "Plumbing", "location": "2nd floor, kitchen"},
                ),
                Story(
                    "Broken office chair",
                    "The height adjustment on my chair doesn't hold any more, it slowly sinks.",
                    {"issue": "Furniture"},
                ),
                Story(
                    "Fire door doesn't close by itself",
                    "The fire door by the stairs on the 1st floor stays open, the closer seems broken.",
                    {"issue": "Doors and locks", "hazard": True},
                ),
            ),
            questions=(
                "Is it the tap on the left or the right sink? And is the water coming from the tap or from below the sink?",
            ),
            answers=("The right one, water comes from under the sink.",),
            resolutions=(
                "The technician replaced the part this morning. Let us know if it isn't fixed.",
                "The thermostat was set wrong after the weekend maintenance. It's back to 21 °C.",
                "A replacement chair is at your desk; the old one has been taken away.",
            ),
            notes=("Contractor booked for Thursday morning.", "Parts ordered, 3 to 5 days."),
        ),
        RequestTypeSpec(
            name="Meeting room or event setup",
            description="Room layout, catering and equipment for an event or a large meeting on site.",
            weight=3,
            fields=(
                date("event_date", "Date", (3, 30), required=True),
                number("attendees", "Number of people", 6, 80, required=True),
                choice(
                    "room",
                    "Room",
                    "Atlas (12)",
                    "Borealis (8)",
                    "Cosmos (30)",
                    "Kitchen area (80)",
                    required=True,
                ),
                yes_no("catering", "Catering needed?"),
            ),
            stories=(
                Story(
                    "Customer workshop in Cosmos",
                    "Full-day workshop with a customer, 20 people, U-shape layout and a second screen.",
                    {"room": "Cosmos (30)"},
                ),
                Story(
                    "All-hands in the kitchen area",
                    "Quarterly all-hands, about 70 people, needs the microphone and chairs.",
                    {"room": "Kitchen area (80)"},
                ),
                Story(
                    "Interview day setup",
                    "Six interviews in Borealis, water and coffee please.",
                    {"room": "Borealis (8)"},
                ),
            ),
            questions=(
                "Would you like lunch or just coffee and water? And any dietary requirements?",
            ),
            answers=("Lunch please, two vegetarians and one gluten-free.",),
            resolutions=("Room is booked and set up as requested; catering confirmed for 12:00.",),
        ),
        RequestTypeSpec(
            name="Desk move",
            description="Move your desk or your team's desks, including your monitor and drawers.",
            weight=2,
            fields=(
                date("move_date", "Moving date", (3, 21), required=True),
                text("from_desk", "From desk", "2.14", "3.02", "1.21", "2.30"),
                text("to_desk", "To desk", "3.10", "2.05", "3.22", "1.08"),
                number("people", "Number of people moving", 1, 12),
            ),
            stories=(
                Story(
                    "Team move to the 3rd floor",
                    "Our team of 8 moves to the 3rd floor with the reorganisation.",
                ),
                Story(
                    "Move closer to my team",
                    "I sit on the 1st floor but my team is on the 2nd. Desk 2.05 is free.",
                ),
            ),
            resolutions=(
                "The move is done. Your drawers were moved with the contents; IT has reconnected the monitors.",
            ),
        ),
        RequestTypeSpec(
            name="Access badge",
            description="New, lost or damaged badges, and access to restricted areas.",
            weight=3,
            fields=(
                text(
                    "badge_for", "Badge for", "Myself", "A visitor", "A new starter", required=True
                ),
                choice(
                    "reason",
                    "Reason",
                    "Lost",
                    "Damaged",
                    "New starter",
                    "Visitor",
                    "Access to another area",
                    required=True,
                ),
            ),
            stories=(
                Story(
                    "Lost my badge",
                    "I lost my badge, probably on the train. Please block it and make a new one.",
                    {"reason": "Lost", "badge_for": "Myself"},
                ),
                Story(
                    "Badge doesn't open the server room",
                    "I'm now on the on-call rota and need access to the server room.",
                    {"reason": "Access to another area"},
                ),
                Story(
                    "Visitor badge for an auditor",
                    "An external auditor is with us for two weeks from Monday.",
                    {"reason": "Visitor", "badge_for": "A visitor"},
                ),
            ),
            resolutions=("The old badge is blocked and your new one is waiting at reception.",),
        ),
    ),
    "MKT": (
        RequestTypeSpec(
            name="Design request",
            description="Slides, one-pagers, social graphics, banners and posters, in our brand.",
            weight=5,
            fields=(
                choice(
                    "deliverable",
                    "What do you need?",
                    "Slide deck",
                    "One-pager",
                    "Social media graphic",
                    "Banner",
                    "Poster",
                    "Other",
                    required=True,
                ),
                date("deadline", "Deadline", (5, 30), required=True),
                long_text(
                    "brief",
                    "Brief",
                    "Audience: prospects in retail. Key message: go live in 30 days.",
                    "Internal audience, should match the new brand colours.",
                    "For the trade show booth, 2 x 1 m.",
                ),
            ),
            stories=(
                Story(
                    "Slide deck for the customer advisory board",
                    "We need a polished 15-slide deck for the advisory board meeting, content is ready in a draft.",
                    {"deliverable": "Slide deck"},
                ),
                Story(
                    "One-pager for the new support plans",
                    "A one-pager explaining the three support plans, for the sales team.",
                    {"deliverable": "One-pager"},
                ),
                Story(
                    "Banner for the trade show booth",
                    "Roll-up banner for the trade show, our usual size.",
                    {"deliverable": "Banner"},
                ),
                Story(
                    "Poster for the office wellbeing week",
                    "A poster for the wellbeing week programme, for the kitchens.",
                    {"deliverable": "Poster"},
                ),
            ),
            questions=(
                "Could you share the draft content and the logo of the partner if it should appear?",
            ),
            answers=("Draft is in the shared folder under Advisory Board; partner logo attached.",),
            resolutions=(
                "Final files are in the shared folder (PDF and editable). Happy to make small changes.",
            ),
            notes=("Chloe picks this up after the campaign assets.",),
        ),
        RequestTypeSpec(
            name="Website content change",
            description="Fix or update text and images on the public website.",
            weight=3,
            fields=(
                text(
                    "page_url",
                    "Page address",
                    "https://www.example.com/pricing",
                    "https://www.example.com/about",
                    "https://www.example.com/careers",
                    required=True,
                ),
                long_text(
                    "change",
                    "What should change?",
                    "The phone number for support is outdated.",
                    "Add the new office address.",
                    "Remove the job ad for the closed position.",
                ),
                date("publish_by", "Publish by", (1, 14)),
            ),
            stories=(
                Story(
                    "Wrong phone number on the contact page",
                    "The contact page still shows the old switchboard number.",
                ),
                Story(
                    "Update team photos on the About page",
                    "Three people in the photos have left; we have new photos from the offsite.",
                ),
                Story(
                    "Close the job ad for the analyst role",
                    "The position is filled, please take the ad down.",
                ),
            ),
            resolutions=("Published. It may take a few minutes for the cache to refresh.",),
        ),
        RequestTypeSpec(
            name="Event support",
            description="Help with an external event: invitations, landing page, swag, photos.",
            weight=2,
            fields=(
                text(
                    "event_name",
                    "Event",
                    "Customer Day",
                    "Partner summit",
                    "Webinar: what's new",
                    "Trade show",
                    required=True,
                ),
                date("event_date", "Date", (14, 60), required=True),
                number("expected_attendees", "Expected attendees", 20, 400),
                yes_no("needs_swag", "Do you need giveaways?"),
            ),
            stories=(
                Story(
                    "Invitations for Customer Day",
                    "We'd like an invitation email and a landing page for Customer Day.",
                    {"event_name": "Customer Day"},
                ),
                Story(
                    "Webinar registration page",
                    "Registration page and reminders for the quarterly webinar.",
                    {"event_name": "Webinar: what's new"},
                ),
            ),
            resolutions=(
                "Landing page and invitations are live; registrations go to the shared list.",
            ),
        ),
        RequestTypeSpec(
            name="Brand approval",
            description="Check that material for customers or the press follows the brand guidelines.",
            weight=2,
            fields=(
                text(
                    "asset",
                    "What should we review?",
                    "Partner press release",
                    "Case study PDF",
                    "Conference slides",
                ),
                choice(
                    "channel",
                    "Where will it be used?",
                    "Press",
                    "Website",
                    "Social media",
                    "Print",
                    "Sales material",
                    required=True,
                ),
            ),
            stories=(
                Story(
                    "Review the partner press release",
                    "Our partner wants to publish a joint press release next week.",
                    {"channel": "Press"},
                ),
                Story(
                    "Case study for the retail customer",
                    "Please review the case study before we send it to the customer for approval.",
                    {"channel": "Sales material"},
                ),
            ),
            resolutions=("Approved with two small changes, marked in the attached PDF.",),
        ),
    ),
    "SAL": (
        RequestTypeSpec(
            name="Discount approval",
            description="Discounts above your approval limit. Include the deal size and the close date.",
            priority=3,
            weight=4,
            fields=(
                text(
                    "customer",
                    "Customer",
                    "Fabrikam Ltd",
                    "Tailspin Toys",
                    "Wingtip Logistics",
                    "Adventure Works",
                    required=True,
                ),
                number("deal_value", "Deal value (EUR)", 5000, 250000, required=True),
                number("discount_percent", "Discount (%)", 10, 35, required=True),
                date("close_date", "Expected close", (3, 45)),
            ),
            stories=(
                Story(
                    "25% discount for a three-year deal",
                    "The customer signs for three years if we give 25% off the first year.",
                    {"discount_percent": 25},
                ),
                Story(
                    "Competitive discount needed to win",
                    "They have a cheaper offer from a competitor; I need 20% to stay in the race.",
                    {"discount_percent": 20},
                ),
                Story(
                    "Discount for a multi-site rollout",
                    "Rollout to 14 sites, asking for a volume discount.",
                    {"discount_percent": 15},
                ),
            ),
            questions=("Can you add the margin calculation from the deal desk sheet?",),
            answers=("Added to the opportunity in the CRM.",),
            resolutions=(
                "Approved up to the requested discount, valid until the end of the quarter.",
                "Approved at 18% instead of 25%; the rest can be offered as free onboarding.",
            ),
        ),
        RequestTypeSpec(
            name="CRM change or report",
            description="New reports, changes to fields or data corrections in the CRM.",
            weight=3,
            fields=(
                choice(
                    "request_kind",
                    "Kind of request",
                    "New report",
                    "Change to a report",
                    "Data correction",
                    "Field change",
                    required=True,
                ),
                long_text(
                    "details",
                    "Details",
                    "Pipeline by region and quarter, for the weekly call.",
                    "Two accounts are duplicated.",
                    "Add a field for the partner who referred the deal.",
                ),
            ),
            stories=(
                Story(
                    "Pipeline report by region",
                    "A report of open pipeline by region and quarter for the weekly forecast call.",
                    {"request_kind": "New report"},
                ),
                Story(
                    "Duplicate customer accounts",
                    "Tailspin Toys exists twice in the CRM with different contacts.",
                    {"request_kind": "Data correction"},
                ),
                Story(
                    "Add a referral partner field",
                    "We need to record which partner referred an opportunity.",
                    {"request_kind": "Field change"},
                ),
            ),
            resolutions=(
                "Done; the report is in the Sales Ops folder and shared with your team.",
                "The accounts are merged, contacts and history are kept.",
            ),
        ),
        RequestTypeSpec(
            name="Customer quote",
            description="A formal quote for a customer, from the price list or with approved discounts.",
            weight=2,
            fields=(
                text(
                    "customer",
                    "Customer",
                    "Fabrikam Ltd",
                    "Northwind Traders",
                    "Coho Winery",
                    required=True,
                ),
                long_text(
                    "products",
                    "Products and quantities",
                    "120 user licences, premium support.",
                    "Onboarding package and 40 licences.",
                ),
                date("valid_until", "Valid until", (14, 60)),
            ),
            stories=(
                Story(
                    "Quote for 120 licences with premium support",
                    "Standard pricing, the customer needs it for their budget round.",
                ),
                Story("Renewal quote for Coho Winery", "Renewal with 10 more users."),
            ),
            resolutions=("Quote attached and logged in the CRM.",),
        ),
        RequestTypeSpec(
            name="Sales engineer for a prospect",
            description="A technical demo or a security questionnaire for a prospect.",
            weight=2,
            fields=(
                text(
                    "prospect",
                    "Prospect",
                    "Wingtip Logistics",
                    "Adventure Works",
                    "Litware Inc",
                    required=True,
                ),
                choice(
                    "need",
                    "What do you need?",
                    "Technical demo",
                    "Security questionnaire",
                    "Architecture call",
                    required=True,
                ),
                date("meeting_date", "Meeting date", (3, 21)),
            ),
            stories=(
                Story(
                    "Security questionnaire for Litware",
                    "Litware sent a 90-question security questionnaire, due in two weeks.",
                    {"need": "Security questionnaire"},
                ),
                Story(
                    "Technical demo for Wingtip",
                    "Wingtip's IT team wants to see the integrations.",
                    {"need": "Technical demo"},
                ),
            ),
            resolutions=(
                "Questionnaire completed and sent to you for review.",
                "Demo held; follow-up notes are in the CRM.",
            ),
        ),
    ),
    "CS": (
        RequestTypeSpec(
            name="Customer escalation",
            description="A customer needs urgent help or is unhappy. Tell us who and what happened.",
            priority=3,
            weight=5,
            fields=(
                text(
                    "customer",
                    "Customer",
                    "Fabrikam Ltd",
                    "Tailspin Toys",
                    "Coho Winery",
                    "Wingtip Logistics",
                    required=True,
                ),
                text(
                    "account_id", "Account ID", "ACC-10482", "ACC-20931", "ACC-31377", "ACC-40210"
                ),
                choice("severity", "Severity", "Low", "Medium", "High", "Critical", required=True),
                yes_no("customer_waiting", "Is the customer waiting on a call?"),
            ),
            stories=(
                Story(
                    "Customer can't export invoices",
                    "Fabrikam's finance team can't export invoices since the update and their month-end is tomorrow.",
                    {"severity": "High"},
                ),
                Story(
                    "Unhappy customer after three tickets",
                    "Coho Winery's admin has opened three tickets about the same sync problem and wants a call with a manager.",
                    {"severity": "Medium"},
                ),
                Story(
                    "Customer locked out of their admin account",
                    "Tailspin's only admin left the company; they need a new admin.",
                    {"severity": "High"},
                ),
            ),
            questions=("Could you ask the customer for the exact error message or a screenshot?",),
            answers=("Screenshot from the customer attached.",),
            resolutions=(
                "Called the customer, the workaround works and the fix ships in Tuesday's release.",
                "Escalation closed after the call with their admin; they're happy with the outcome.",
            ),
            notes=("Linked to engineering bug ENG-142.", "Account flagged as at risk in the CRM."),
        ),
        RequestTypeSpec(
            name="Refund or credit",
            description="Refunds and service credits for customers, within the policy.",
            weight=2,
            fields=(
                text(
                    "customer",
                    "Customer",
                    "Adventure Works",
                    "Northwind Traders",
                    "Litware Inc",
                    required=True,
                ),
                number("amount", "Amount (EUR)", 50, 5000, required=True),
                choice(
                    "reason",
                    "Reason",
                    "Outage",
                    "Billing error",
                    "Goodwill",
                    "Cancellation",
                    required=True,
                ),
            ),
            stories=(
                Story(
                    "Service credit after the outage",
                    "Northwind lost half a day during the outage and asks for a credit.",
                    {"reason": "Outage"},
                ),
                Story(
                    "Double charge on the last invoice",
                    "Litware was charged twice for the same month.",
                    {"reason": "Billing error"},
                ),
            ),
            resolutions=("Credit applied to the next invoice and confirmed to the customer.",),
        ),
        RequestTypeSpec(
            name="Help-centre article",
            description="Ask for a new or updated article in the customer help centre.",
            weight=2,
            fields=(
                text(
                    "topic",
                    "Topic",
                    "Exporting invoices",
                    "Single sign-on setup",
                    "Changing the account owner",
                    required=True,
                ),
                choice(
                    "audience", "Audience", "Customers", "Partners", "Internal only", required=True
                ),
            ),
            stories=(
                Story(
                    "Article on the new SSO setup",
                    "Customers keep asking how to set up SSO with the new settings page.",
                ),
                Story("Update the invoice export article", "The screenshots show the old menu."),
            ),
            resolutions=("Published in the help centre; link added to the macro.",),
        ),
    ),
    "ENG": (
        RequestTypeSpec(
            name="Bug in an internal tool",
            description="Something is wrong in a tool we build ourselves: admin console, billing, reporting.",
            weight=5,
            fields=(
                choice(
                    "tool",
                    "Tool",
                    "Admin console",
                    "Billing service",
                    "Reporting dashboard",
                    "Internal API",
                    "Other",
                    required=True,
                ),
                long_text(
                    "steps",
                    "Steps to reproduce",
                    "Open the customer, click Export, choose CSV: nothing happens.",
                    "Filter the report by region, then change the month: the totals don't change.",
                    required=True,
                ),
                date("occurred_on", "When did it start?", (-14, 0)),
                yes_no("blocking", "Does it block your work?", required=True),
            ),
            stories=(
                Story(
                    "Admin console export button does nothing",
                    "In the admin console the CSV export of a customer's users does nothing since last week.",
                    {"tool": "Admin console"},
                ),
                Story(
                    "Reporting dashboard totals don't match",
                    "The revenue totals on the dashboard differ from the finance report by about 2%.",
                    {"tool": "Reporting dashboard"},
                ),
                Story(
                    "Billing service sends invoices twice",
                    "Two customers received the same invoice twice this morning.",
                    {"tool": "Billing service", "blocking": True},
                ),
            ),
            questions=(
                "Which browser are you using, and can you reproduce it in a private window?",
            ),
            answers=("Chrome, and yes it also happens in a private window.",),
            resolutions=(
                "Fixed in today's release. Thanks for the clear steps to reproduce.",
                "Root cause was a timezone issue in the report query; fixed and backfilled.",
            ),
            notes=(
                "Reproduced on staging. Looks like the pagination change from last sprint.",
                "Adding to the current sprint.",
            ),
        ),
        RequestTypeSpec(
            name="Feature request",
            description="An improvement to one of our internal tools. Tell us the problem, not only the solution.",
            priority=1,
            sla_exempt=True,
            weight=3,
            fields=(
                text(
                    "summary",
                    "In one sentence",
                    "Bulk edit for customer tags",
                    "Export the audit log",
                    "Dark mode in the admin console",
                    required=True,
                ),
                long_text(
                    "business_value",
                    "Why does it matter?",
                    "Saves the support team about two hours a week.",
                    "Customers ask for it in every renewal.",
                ),
                number("users_affected", "How many colleagues would use it?", 3, 120),
            ),
            stories=(
                Story(
                    "Bulk edit customer tags in the admin console",
                    "Support tags customers one by one; a bulk edit would save a lot of time.",
                ),
                Story(
                    "Export the audit log to CSV",
                    "Auditors ask for the audit log every quarter; today we copy it by hand.",
                ),
            ),
            resolutions=(
                "Shipped in this sprint's release; see the changelog for details.",
                "We've added it to the roadmap for next quarter; closing this request for now.",
            ),
        ),
        RequestTypeSpec(
            name="Data export",
            description="A one-off extract from our databases. Personal data needs a reason and approval.",
            weight=2,
            fields=(
                text(
                    "dataset",
                    "Which data?",
                    "Active customers by plan",
                    "Support tickets per customer",
                    "Monthly active users",
                ),
                date("date_from", "From", (-180, -30)),
                date("date_to", "Until", (-29, 0)),
                yes_no("personal_data", "Does it include personal data?", required=True),
            ),
            stories=(
                Story(
                    "Active customers by plan for the board pack",
                    "Number of active customers per plan per month for the last 6 months.",
                ),
                Story(
                    "Support tickets per customer for the renewal review",
                    "Ticket counts per customer for accounts renewing next quarter.",
                ),
            ),
            resolutions=("The extract is in the shared Data folder; the link expires in 30 days.",),
        ),
        RequestTypeSpec(
            name="Production access",
            description="Temporary access to production systems. Approved by the VP of Engineering.",
            priority=3,
            weight=1,
            fields=(
                choice(
                    "system",
                    "System",
                    "Production database (read only)",
                    "Kubernetes cluster",
                    "Log platform",
                    required=True,
                ),
                long_text(
                    "reason",
                    "Reason",
                    "Investigating the billing duplicate issue.",
                    "On-call rota next week.",
                ),
                date("until", "Until", (1, 14), required=True),
            ),
            stories=(
                Story(
                    "Read-only database access for the billing issue",
                    "I need to look at the invoice table to investigate the duplicates.",
                    {"system": "Production database (read only)"},
                ),
                Story(
                    "Log access for on-call",
                    "I'm on call next week for the first time.",
                    {"system": "Log platform"},
                ),
            ),
            resolutions=("Access granted until the date you gave; it expires automatically.",),
        ),
    ),
}


# Misfiled requests that an agent moves to the department that can help.


# --- Business calendars and SLA policies ----------------------------------------------

# Hours of every working day, in the calendar's local time; "00:00" as an end is midnight.
OFFICE_DAYS = (0, 1, 2, 3, 4)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class CalendarSpec:
    name: str
    time_zone: str
    days: tuple[int, ...]  # weekdays, 0 = Monday
    hours: tuple[tuple[str, str], ...]  # (start, end) on each of those days
    departments: tuple[str, ...]  # codes of the departments that work by it
    holiday_country: str = ""
    holiday_subdivision: str = ""


CALENDARS: tuple[CalendarSpec, ...] = (
    CalendarSpec(
        name="Berlin office",
        time_zone="Europe/Berlin",
        days=OFFICE_DAYS,
        hours=(("09:00", "12:30"), ("13:30", "17:30")),  # with a lunch break
        departments=("IT", "HR", "FIN", "FAC", "ENG"),
        holiday_country="DE",
        holiday_subdivision="BY",
    ),
    CalendarSpec(
        name="New York office",
        time_zone="America/New_York",
        days=OFFICE_DAYS,
        hours=(("08:00", "18:00"),),
        departments=("SAL", "MKT"),
        holiday_country="US",
        holiday_subdivision="NY",
    ),
    CalendarSpec(
        name="Round the clock",
        time_zone="UTC",
        days=EVERY_DAY,
        hours=(("00:00", "00:00"),),  # the whole day
        departments=("CS",),
    ),
)


@dataclass(frozen=True)
class SlaPolicySpec:
    department: str  # code of the providing department
    name: str
    first_response: int  # business minutes
    resolution: int  # business minutes
    next_response: int | None = None
    request_type: str = ""  # narrows the policy to one request type of the department
    requesting_department: str = ""  # ... to requests from one department (its code)
    priority: int | None = None  # ... to one priority (4 = urgent)


# A Berlin working day is 7.5 business hours (450 minutes); a New York one 10 hours. The
# targets suit the pace of the demo stories: most are met, a fair share is not.
SLA_POLICIES: tuple[SlaPolicySpec, ...] = (
    SlaPolicySpec("IT", "IT standard", first_response=450, resolution=1800, next_response=900),
    SlaPolicySpec(
        "IT", "IT urgent", first_response=60, resolution=450, next_response=120, priority=4
    ),
    SlaPolicySpec(
        "IT",
        "IT for Sales",
        first_response=240,
        resolution=1350,
        next_response=450,
        requesting_department="SAL",
    ),
    SlaPolicySpec(
        "IT",
        "Locked out",
        first_response=240,
        resolution=450,
        request_type="Password or account locked",
    ),
    SlaPolicySpec("HR", "HR standard", first_response=900, resolution=2700, next_response=900),
    SlaPolicySpec(
        "HR", "Concerns", first_response=450, resolution=2250, request_type="Report a concern"
    ),
    SlaPolicySpec(
        "FIN", "Finance standard", first_response=450, resolution=2250, next_response=1350
    ),
    SlaPolicySpec("FAC", "Facilities standard", first_response=450, resolution=2250),
    SlaPolicySpec("FAC", "Facilities urgent", first_response=60, resolution=450, priority=4),
    SlaPolicySpec("MKT", "Marketing standard", first_response=1200, resolution=3000),
    SlaPolicySpec("SAL", "Sales operations standard", first_response=600, resolution=2400),
    SlaPolicySpec("SAL", "Urgent deals", first_response=60, resolution=300, priority=4),
    SlaPolicySpec(
        "CS", "Customer Support standard", first_response=1440, resolution=10080, next_response=2880
    ),
    SlaPolicySpec(
        "CS",
        "Customer escalations",
        first_response=240,
        resolution=2880,
        request_type="Customer escalation",
    ),
    SlaPolicySpec("ENG", "Engineering standard", first_response=900, resolution=2700),
)


# --- Escalation rules -----------------------------------------------------------------


@dataclass(frozen=True)
class EscalationActionSpec:
    kind: str  # EscalationAction.Kind value
    target: str = ""  # EscalationAction.Target value
    text: str = ""


@dataclass(frozen=True)
class EscalationRuleSpec:
    department: str  # code
    level: int
    name: str
    trigger: str  # EscalationRule.Trigger value
    actions: tuple[EscalationActionSpec, ...]
    clock_kind: str = ""  # empty: any target
    warning_percent: int | None = None
    idle_hours: int | None = None
    priorities: tuple[int, ...] = ()


def _escalation_ladder(code: str) -> tuple[EscalationRuleSpec, ...]:
    """The same ladder for IT and HR: a nudge at 75 %, the lead told at a breach (and the
    priority raised), the lead taking over a high or urgent ticket whose resolution is
    late; and a note when the requester has heard nothing for a working day. No chat
    webhook is set: the chat action reports “none set” until an admin adds one."""
    return (
        EscalationRuleSpec(
            code, 1, "Nudge the assignee", "warning", warning_percent=75,
            actions=(EscalationActionSpec("notify", "assignee", "75 % of the target is used."),),
        ),
        EscalationRuleSpec(
            code, 2, "Tell the lead", "breach",
            actions=(
                EscalationActionSpec("notify", "leads"),
                EscalationActionSpec("raise_priority"),
            ),
        ),
        EscalationRuleSpec(
            code, 3, "Lead takes over", "breach", clock_kind="resolution", priorities=(3, 4),
            actions=(
                EscalationActionSpec("reassign", "leads"),
                EscalationActionSpec("notify", "chat"),
            ),
        ),
        EscalationRuleSpec(
            code, 1, "Eight quiet hours", "no_update", idle_hours=8,
            actions=(
                EscalationActionSpec("notify", "assignee"),
                EscalationActionSpec(
                    "internal_note",
                    text="No public update for 8 business hours. Please give the requester "
                    "news, even if it is only that we are still on it.",
                ),
            ),
        ),
    )  # fmt: skip


ESCALATION_RULES: tuple[EscalationRuleSpec, ...] = (
    *_escalation_ladder("IT"),
    *_escalation_ladder("HR"),
)


@dataclass(frozen=True)
class TransferStory:
    from_code: str
    from_type: str
    to_code: str
    to_type: str
    title: str
    description: str
    reason: str


TRANSFERS: tuple[TransferStory, ...] = (
    TransferStory(
        "IT",
        "Access request",
        "FAC",
        "Access badge",
        "My badge doesn't open the 3rd floor",
        "Since the reorganisation my badge no longer opens the door to the 3rd floor, where my team sits now.",
        "Door badges are managed by Facilities, passing this over.",
    ),
    TransferStory(
        "FAC",
        "Repair or maintenance",
        "IT",
        "Laptop or hardware problem",
        "Screen in meeting room Atlas stays black",
        "The big screen in Atlas doesn't show anything when we connect a laptop, with or without the adapter.",
        "Meeting room screens belong to IT, moving it to them.",
    ),
    TransferStory(
        "HR",
        "Training request",
        "FIN",
        "Expense reimbursement",
        "Reimburse the Excel course I paid myself",
        "HR approved the Excel course last month; I paid the EUR 420 myself and would like it reimbursed.",
        "The training is already approved and paid; this is a reimbursement, so Finance handles it.",
    ),
    TransferStory(
        "SAL",
        "CRM change or report",
        "ENG",
        "Bug in an internal tool",
        "Won deals don't reach billing",
        "Deals marked as won in the CRM since Monday don't appear in the billing tool, so no invoices go out.",
        "This is a bug in the CRM sync we built, not a report change.",
    ),
    TransferStory(
        "CS",
        "Customer escalation",
        "ENG",
        "Bug in an internal tool",
        "Customers see other customers' names in the export",
        "Two customers report that the user export contains names from another account. Screenshots attached.",
        "Confirmed as a product bug, Engineering needs to fix it now.",
    ),
)


# --- Conversation snippets shared by every request type -------------------------------

ACKNOWLEDGEMENTS = (
    "Thanks for the details, I'm looking into it now.",
    "Thanks, I've picked this up and will get back to you today.",
    "Got it. I'll check and update you by tomorrow at the latest.",
    "Thanks for reporting this. I'm on it.",
)
FOLLOW_UPS = (
    "Any news on this? It's getting a bit urgent on my side.",
    "Just checking in, is there anything else you need from me?",
    "Thanks, that's helpful. Let me know if I can do anything.",
)
REOPEN_MESSAGES = (
    "Sorry, it's happening again since this morning.",
    "This isn't quite fixed yet, the problem came back after a restart.",
    "I checked again and it's still not right, could you have another look?",
)
RESOLVED_AGAIN = (
    "Sorry about that. I found what was left over and fixed it properly this time; please check.",
    "Thanks for telling us. I've had another look and corrected the remaining part.",
    "You were right, the first fix didn't cover everything. It's sorted now.",
)
THANKS = (
    "Great, thank you!",
    "Works now, thanks a lot.",
    "Perfect, thanks for the quick help.",
)
GENERIC_NOTES = (
    "Waiting for the supplier's answer before replying.",
    "Checked the history, no similar request before.",
    "Discussed in the team stand-up; I'll take it.",
)
