// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", function () {
  // Forms that create an account send the browser's time zone so times show in it from the start.
  var tz = "";
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
  document.querySelectorAll("input[data-browser-tz]").forEach(function (input) { input.value = tz; });
});

// Charts: <canvas data-chart="id-of-a-json_script"> drawn with Chart.js (served from our static
// files) when the page loads it; every chart also has its table next to it. The spec is
// {type, label, labels, values} for one series, or {type, label, labels, datasets: [{label, values,
// type}]} for several (a dataset of type "line" over bars), or {type: "scatter", points: [{x, y, label}],
// logx, xlabel, ylabel}; "horizontal" lays bars sideways, "percent" adds % to the axis.
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Chart === "undefined") { return; }
  var brand = getComputedStyle(document.documentElement).getPropertyValue("--brand").trim() || "#e0245e";
  var palette = [brand, "#2563eb", "#16a34a", "#f59e0b", "#7c3aed", "#0891b2", "#64748b", "#db2777"];
  var number = function (v, spec) { return spec.percent ? v + "%" : Number(v).toLocaleString(); };
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    var type = spec.type || "line";
    var datasets, scales, legend = false;
    if (type === "scatter") {
      datasets = [{label: spec.label, data: spec.points, backgroundColor: brand + "99", borderColor: brand, pointRadius: 4}];
      scales = {x: {type: spec.logx ? "logarithmic" : "linear", title: {display: !!spec.xlabel, text: spec.xlabel},
                    ticks: {autoSkip: false, callback: function (v) {  // on a log axis, only the powers of ten
                      if (spec.logx && Math.abs(Math.log10(v) - Math.round(Math.log10(v))) > 1e-9) { return ""; }
                      return Number(v).toLocaleString(); }}},
                y: {beginAtZero: true, title: {display: !!spec.ylabel, text: spec.ylabel}}};
    } else {
      var series = spec.datasets || [{label: spec.label, values: spec.values}];
      legend = series.length > 1 || type === "doughnut";
      datasets = series.map(function (d, i) {
        var color = palette[i % palette.length];
        if (type === "doughnut") {
          return {label: d.label, data: d.values, backgroundColor: spec.labels.map(function (_l, j) { return palette[j % palette.length]; })};
        }
        var line = (d.type || type) === "line";
        if (spec.floating) {  // a waterfall: totals stand on zero in the brand colour, the steps down hang in grey
          return {label: d.label, data: d.values, backgroundColor: d.values.map(function (v) { return v[0] === 0 ? brand + "cc" : "#64748b99"; })};
        }
        return {label: d.label, data: d.values, type: d.type || type, borderColor: color, backgroundColor: line ? color + "22" : color + "99",
                fill: line && series.length === 1, tension: 0.25, spanGaps: true, pointRadius: line ? 2 : 0, order: line ? 0 : 1};
      });
      var valueAxis = {beginAtZero: true, ticks: {callback: function (v) { return number(v, spec); }}};
      scales = type === "doughnut" ? {} : (spec.horizontal ? {x: valueAxis} : {y: valueAxis});
    }
    new Chart(canvas, {
      type: type,
      data: {labels: spec.labels, datasets: datasets},
      options: {responsive: true, maintainAspectRatio: false, animation: false, indexAxis: spec.horizontal ? "y" : "x",
                plugins: {legend: {display: legend, position: "bottom"}, title: {display: true, text: spec.label, align: "start"},
                          tooltip: type === "scatter" ? {callbacks: {label: function (c) { return c.raw.label + ": " + Number(c.raw.x).toLocaleString() + " / " + c.raw.y; }}} : {}},
                scales: scales}
    });
  });
});

// A header checkbox that selects every row checkbox of its table (bulk actions).
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-check-all]");
  if (!all) return;
  all.closest("table").querySelectorAll("tbody input[type=checkbox]").forEach((box) => { box.checked = all.checked; });
});

// A select with data-autosubmit sends its form when changed (the form's button does it without JS).
document.addEventListener("change", (event) => {
  const select = event.target.closest("[data-autosubmit]");
  if (select && select.form) select.form.submit();
});

// Buttons with data-confirm ask before they submit.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// Cockpit filters: changing a date means a custom period.
document.addEventListener("change", (event) => {
  const input = event.target.closest(".bi-filters input[type=date]");
  if (!input) return;
  const period = input.form.querySelector("select[name=period]");
  if (period) period.value = "custom";
});
