// The lead dashboard's charts, drawn with Chart.js (static/vendor/chart.umd.min.js) from
// the JSON the page carries (#dash-charts, built by dashboards/charts.py). Each
// <canvas data-chart="name" data-type="line|bar"> gets that chart; colours are the
// page's own (CSS custom properties), so dark mode follows. Without JavaScript, or if
// Chart.js fails to load, the tables beside the charts (open) carry every figure.
(function () {
  "use strict";

  var FALLBACK = { warning: "#d97706" };

  function draw() {
    var source = document.getElementById("dash-charts");
    if (!source || !window.Chart) return;
    var charts = JSON.parse(source.textContent);
    var css = getComputedStyle(document.documentElement);
    function tone(name) {
      return css.getPropertyValue("--" + name).trim() || FALLBACK[name] || "#4f46e5";
    }
    window.Chart.defaults.color = tone("text-muted");
    window.Chart.defaults.font.family = css.getPropertyValue("--font-sans").trim() || "sans-serif";

    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = charts[canvas.dataset.chart];
      if (!spec || !spec.labels.length) return;
      var type = canvas.dataset.type || "bar";
      var datasets = spec.series.map(function (series) {
        var colour = series.tones ? series.tones.map(tone) : tone(series.tone || "accent");
        return {
          label: series.label,
          data: series.data,
          backgroundColor: colour,
          borderColor: colour,
          borderWidth: type === "line" ? 2 : 0,
          borderRadius: type === "bar" ? 3 : 0,
          pointRadius: 3,
          cubicInterpolationMode: "monotone",
          spanGaps: false
        };
      });
      // The chart now shows what the table beside it holds: fold the table away
      // (it stays one click off, open where there is no chart).
      var figures = canvas.parentElement.nextElementSibling;
      if (figures && figures.tagName === "DETAILS") figures.removeAttribute("open");
      new window.Chart(canvas, {
        type: type,
        data: { labels: spec.labels, datasets: datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
          scales: {
            x: { grid: { display: false } },
            y: {
              beginAtZero: spec.min === undefined,
              min: spec.min,
              max: spec.max,
              ticks: { precision: 0 },
              grid: { color: tone("border") }
            }
          }
        }
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
