// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", function () {
  // Forms that create an account send the browser's time zone so times show in it from the start.
  var tz = "";
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser */ }
  document.querySelectorAll("input[data-browser-tz]").forEach(function (input) { input.value = tz; });
});
