// The dashboard works without this file; it only keeps a decision from being sent twice
// and refreshes a run page while the run is still going.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.classList.contains("decide")) return;
  if (form.dataset.sent) { event.preventDefault(); return; }
  form.dataset.sent = "1";
  setTimeout(function () {
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
  }, 0);
});
(function () {
  var status = document.getElementById("run-status");
  if (status && status.textContent.trim() === "running") {
    setTimeout(function () { window.location.reload(); }, 3000);
  }
})();
