// The compose form's target picker, enhanced (issue #20). Without this script the picker's
// buttons submit the form and the page comes back with the results; with it, the results come
// from /dashboard/compose/targets (an HTML fragment) and the chips and the count from
// /dashboard/compose/targets/chosen (JSON, a POST with the form's CSRF token), in place.
(function () {
  "use strict";
  var picker = document.getElementById("targets");
  if (!picker || !window.fetch) { return; }
  var form = picker.closest("form");
  var results = document.getElementById("picker-results");
  var chips = document.getElementById("picker-chips");
  var query = document.getElementById("picker_q");
  var opened = form.querySelector("input[name=picker_opened]");
  var update = document.getElementById("picker-update");
  var KINDS = ["districts", "associations", "groups"];
  var asked = 0;
  if (update) { update.hidden = true; }

  function chosenIds() {
    // The chips, and any result ticked but not yet made a chip.
    var ids = [];
    picker.querySelectorAll("input[type=checkbox]:checked:not([disabled])").forEach(function (box) {
      if (KINDS.indexOf(box.name) >= 0) { ids.push([box.name, box.value]); }
    });
    return ids;
  }

  function sync() {
    // Results already chosen show ticked and locked: their chip carries the id.
    var inChips = {};
    chips.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      inChips[box.name + ":" + box.value] = true;
    });
    results.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      var chosen = inChips[box.name + ":" + box.value] === true;
      box.checked = chosen;
      box.disabled = chosen;
    });
  }

  function refreshChosen() {
    var body = new URLSearchParams();
    body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    chosenIds().forEach(function (pair) { body.append(pair[0], pair[1]); });
    return fetch(picker.getAttribute("data-chosen-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      chips.innerHTML = data.chips;
      document.getElementById("live-areas").textContent = String(data.areas);
      document.getElementById("live-total").textContent = String(data.recipients);
      document.getElementById("live-messages").textContent = String(data.quota_messages);
      sync();
    }).catch(function () { /* the form still submits what is ticked */ });
  }

  function load(params) {
    var ticket = ++asked;
    var url = new URL(picker.getAttribute("data-results-url"), window.location.href);
    Object.keys(params).forEach(function (key) {
      if (params[key] !== "" && params[key] !== null) { url.searchParams.set(key, params[key]); }
    });
    chips.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      url.searchParams.append(box.name, box.value);
    });
    results.setAttribute("aria-busy", "true");
    return fetch(url.toString(), { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      if (ticket !== asked) { return; }  // a later search answered first
      results.innerHTML = html;
      results.removeAttribute("aria-busy");
      sync();
    }).catch(function () { results.removeAttribute("aria-busy"); });
  }

  function search(page) {
    return load({ q: query.value.trim(), page: page || "" });
  }

  var typing = null;
  query.addEventListener("input", function () {
    window.clearTimeout(typing);
    typing = window.setTimeout(function () { search(); }, 250);
  });
  query.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); window.clearTimeout(typing); search(); }
  });

  picker.addEventListener("click", function (event) {
    var button = event.target.closest("button[type=submit]");
    if (!button || !picker.contains(button)) { return; }
    if (button.name === "picker_district") {
      event.preventDefault();
      opened.value = button.value;
      query.value = "";
      load({ district: button.value }).then(function () {
        var first = results.querySelector("input[type=checkbox]:not([disabled])");
        if (first) { first.focus(); }
      });
    } else if (button.name === "picker_page") {
      event.preventDefault();
      var q = query.value.trim();
      load(q ? { q: q, page: button.value } : { district: opened.value, page: button.value });
    } else if (button.name === "picker") {
      event.preventDefault();
      if (button.value === "browse") { query.value = ""; load({}); }
      else if (button.value === "update") { refreshChosen(); }
      else { search(); }
    }
  });

  picker.addEventListener("change", function (event) {
    var box = event.target;
    if (box.type === "checkbox" && KINDS.indexOf(box.name) >= 0) { refreshChosen(); }
  });
  sync();
})();
