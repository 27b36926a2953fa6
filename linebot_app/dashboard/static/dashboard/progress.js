// Moves the progress bar of circulars being sent: polls their progress every 3 seconds and
// stops when sending is over. Everything works without it; it only saves a reload.
(function () {
  "use strict";
  function poll(card) {
    var url = card.getAttribute("data-progress-url");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var done = data.recipients ? (100 * data.finished) / data.recipients : 0;
        var bar = card.querySelector(".progress .bar");
        if (bar) { bar.style.width = done.toFixed(1) + "%"; }
        var meter = card.querySelector(".progress");
        if (meter) { meter.setAttribute("aria-valuenow", String(data.finished)); }
        var finished = card.querySelector(".js-finished");
        if (finished) { finished.textContent = String(data.finished); }
        var confirmed = card.querySelector(".js-confirmed");
        if (confirmed) { confirmed.textContent = String(data.confirmed); }
        if (data.status === "sending") { window.setTimeout(function () { poll(card); }, 3000); }
      })
      .catch(function () { window.setTimeout(function () { poll(card); }, 10000); });
  }
  document.querySelectorAll("[data-progress-url]").forEach(function (card) {
    window.setTimeout(function () { poll(card); }, 3000);
  });
})();
