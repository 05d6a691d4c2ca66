// Waits for the requester's signature: asks the service every two seconds
// whether the request moved on, then shows the page again. Without
// JavaScript, the page's "Check again" link does the same by hand.
(function () {
  "use strict";
  var waiting = document.getElementById("waiting");
  if (!waiting) { return; }
  var url = waiting.getAttribute("data-poll");
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.state === "waiting") { setTimeout(poll, 2000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
}());
