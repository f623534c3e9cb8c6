// Mention suggestions (progressive enhancement): typing "@ri" in a post's text box
// offers up to 10 names you may mention, from /api/v1/users/suggest. Without this
// script, or without JavaScript, "@name" is typed by hand and works the same.
(function () {
  "use strict";
  var box = document.getElementById("body");
  if (!box || !window.fetch) { return; }
  var list = document.createElement("ul");
  list.className = "mention-suggestions";
  list.setAttribute("aria-label", "Names to mention");
  list.hidden = true;
  box.parentNode.insertBefore(list, box.nextSibling);
  var asked = "";

  function current() {
    var before = box.value.slice(0, box.selectionStart);
    var found = /(^|[^\w@\/.-])@([A-Za-z0-9_-]{1,20})$/.exec(before);
    return found ? found[2] : "";
  }

  function choose(name) {
    var start = box.selectionStart;
    var typed = current();
    var head = box.value.slice(0, start - typed.length);
    box.value = head + name + " " + box.value.slice(start);
    var at = head.length + name.length + 1;
    box.setSelectionRange(at, at);
    list.hidden = true;
    box.focus();
  }

  function show(names) {
    list.textContent = "";
    names.forEach(function (name) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "small";
      button.textContent = "@" + name;
      button.addEventListener("click", function () { choose(name); });
      item.appendChild(button);
      list.appendChild(item);
    });
    list.hidden = names.length === 0;
  }

  box.addEventListener("input", function () {
    var prefix = current();
    if (!prefix) { list.hidden = true; asked = ""; return; }
    if (prefix === asked) { return; }
    asked = prefix;
    fetch("/api/v1/users/suggest?q=" + encodeURIComponent(prefix), { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.json() : { users: [] }; })
      .then(function (data) { if (asked === prefix) { show(data.users || []); } })
      .catch(function () { list.hidden = true; });
  });
})();
