// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", function () {
  // Forms that create an account send the browser's time zone so times show in it from the start.
  var tz = "";
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
  document.querySelectorAll("input[data-browser-tz]").forEach(function (input) { input.value = tz; });
});

// Charts: <canvas data-chart="id-of-a-json_script"> drawn with Chart.js (served from our static
// files) when the page loads it; every chart also has its table next to it.
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Chart === "undefined") { return; }
  var brand = getComputedStyle(document.documentElement).getPropertyValue("--brand").trim() || "#e0245e";
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: spec.type || "line",
      data: {labels: spec.labels, datasets: [{label: spec.label, data: spec.values, borderColor: brand, backgroundColor: spec.type === "bar" ? brand + "99" : brand + "22",
                                              fill: spec.type !== "bar", tension: 0.25, spanGaps: true, pointRadius: 3}]},
      options: {responsive: true, maintainAspectRatio: false, animation: false,
                plugins: {legend: {display: false}, title: {display: true, text: spec.label, align: "start"}},
                scales: {y: {beginAtZero: true, ticks: {callback: function (v) { return spec.percent ? v + "%" : v.toLocaleString(); }}}}}
    });
  });
});

// A header checkbox that selects every row checkbox of its table (bulk actions).
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-check-all]");
  if (!all) return;
  all.closest("table").querySelectorAll("tbody input[type=checkbox]").forEach((box) => { box.checked = all.checked; });
});

// Buttons with data-confirm ask before they submit.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});
