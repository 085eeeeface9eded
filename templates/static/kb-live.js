// kb-live.js - reloads the page when `kb serve --watch` publishes a new build.
// The server adds this script to HTML pages only under --watch; it polls
// /api/generation once a second and reloads when the build it reports changes.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? script.src.replace(/kb-live\.js(\?.*)?$/, "") : "/";
  var seen = null;
  function poll() {
    fetch(base + "api/generation", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (g) {
        if (!g) return;
        var now = g.generation + "/" + g.built_at;
        if (seen === null) seen = now;
        else if (now !== seen) location.reload();
      })
      .catch(function () { /* the server is restarting: keep polling */ })
      .then(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
