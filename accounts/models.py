from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """An employee. Their home department is the department they request on behalf of."""

    home_department = models.ForeignKey(
        "tickets.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="employees",
        help_text="The department this person belongs to; tickets they file are counted "
        "as requests from it.",
    )
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    job_title = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(manager=models.F("pk")), name="user_not_own_manager"
            )
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
