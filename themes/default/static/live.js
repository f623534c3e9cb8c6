// Live pages (topics' last pages, chat rooms): progressive enhancement, no dependencies.
// Every few seconds, ask /api/v1/changes whether the page's topic or room changed (with
// If-None-Match: a 304 when nothing did). When it did, fetch the page again (the server's
// own sanitised HTML) and swap in its [data-live-region] parts; forms being typed in are
// outside them and stay as they are. Without this script the page has a link instead.
(function () {
  "use strict";
  var box = document.querySelector("[data-live]");
  if (!box || !window.fetch || !window.DOMParser) { return; }
  var token = box.getAttribute("data-live-token");
  var url = box.getAttribute("data-live-url");
  var seconds = parseInt(box.getAttribute("data-live-seconds"), 10) || 4;
  var noun = box.getAttribute("data-live-noun") || "message";
  var status = document.querySelector(".live-status");
  var etag = null;
  var busy = false;
  var stopped = false;

  function say(text) { if (status) { status.textContent = text; } }

  function ids() {
    var found = {};
    document.querySelectorAll("[data-live-region] article.post, [data-live-region] .chat > li")
      .forEach(function (el) { found[el.id] = true; });
    return found;
  }

  function refresh() {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("page " + answer.status); }
        return answer.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var before = ids();
        document.querySelectorAll("[data-live-region]").forEach(function (old) {
          var fresh = doc.getElementById(old.id);
          if (fresh) { old.replaceWith(document.importNode(fresh, true)); }
        });
        var added = 0;
        Object.keys(ids()).forEach(function (id) { if (!before[id]) { added += 1; } });
        var next = doc.querySelector("[data-live]");
        if (next) {
          token = next.getAttribute("data-live-token");
        } else {
          // The page is full: what is new is on the next page (the link below says so).
          stopped = true;
        }
        if (added) {
          say(added === 1 ? "1 new " + noun + "." : added + " new " + noun + "s.");
        } else if (stopped) {
          say("New posts are on the next page.");
        }
      });
  }

  function poll() {
    if (stopped || busy || document.hidden) { return; }
    busy = true;
    var headers = { "Accept": "application/json" };
    if (etag) { headers["If-None-Match"] = etag; }
    fetch("/api/v1/changes?since=" + encodeURIComponent(token),
      { credentials: "same-origin", headers: headers, cache: "no-store" })
      .then(function (answer) {
        if (answer.status === 304) { return null; }
        if (answer.status === 404) {
          stopped = true;
          say("This page is no longer available to you.");
          return null;
        }
        if (!answer.ok) { return null; }
        etag = answer.headers.get("ETag");
        return answer.json();
      })
      .then(function (data) { if (data && data.changed) { return refresh(); } return null; })
      .catch(function () { /* offline or a server hiccup: the next poll tries again */ })
      .then(function () { busy = false; });
  }

  setInterval(poll, seconds * 1000);
  document.addEventListener("visibilitychange", poll);
}());
