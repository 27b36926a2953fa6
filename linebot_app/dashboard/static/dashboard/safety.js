// Keeps a safety check's board current: fetches it again every 5 seconds and swaps it in.
// Everything works without it; it only saves a reload.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var url = board.getAttribute("data-board-url");
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) { board.innerHTML = html; }
        window.setTimeout(refresh, 5000);
      })
      .catch(function () { window.setTimeout(refresh, 10000); });
  }
  window.setTimeout(refresh, 5000);
})();
