/* Review page: j/k move between suggestions, a accepts, r rejects, o opens the link. No dependencies.
   A decided item stays in place (so positions do not jump) and the next pending one becomes current. */
(function () {
  "use strict";

  let currentId = null;
  let decidingId = null;

  function items() {
    return Array.from(document.querySelectorAll("[data-review-item]"));
  }

  function isPending(item) {
    return item.dataset.state === "pending";
  }

  function current() {
    return currentId ? document.getElementById(currentId) : null;
  }

  function select(item, focus) {
    if (!item) return;
    items().forEach(function (other) {
      other.classList.toggle("is-current", other === item);
      if (other === item) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    });
    currentId = item.id;
    if (focus) item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const list = items();
    if (!list.length) return;
    const index = list.indexOf(current());
    const next = index === -1 ? 0 : Math.min(list.length - 1, Math.max(0, index + step));
    select(list[next], true);
  }

  function decide(action) {
    const item = current();
    const button = item && item.querySelector("[data-review-action='" + action + "']");
    if (button && !button.disabled) button.click();
  }

  /* After a decision the swapped-in item has the same id: move on to the next pending one. */
  function afterDecision() {
    if (!decidingId) return;
    const item = document.getElementById(decidingId);
    decidingId = null;
    if (!item) return;
    if (isPending(item)) { select(item, true); return; }  // refused: the reason is shown in the item
    const list = items();
    const after = list.slice(list.indexOf(item) + 1).find(isPending);
    select(after || list.find(isPending) || item, true);
  }

  function isTyping(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    const actions = { j: function () { move(1); }, k: function () { move(-1); },
                      a: function () { decide("accept"); }, r: function () { decide("reject"); },
                      o: function () { const item = current(); if (item) item.querySelector(".review-link").click(); } };
    const action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const list = document.querySelector("[data-review]");
    document.querySelectorAll("[data-submit-on-change]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
    if (!list) return;
    document.addEventListener("keydown", onKey);
    list.addEventListener("click", function (event) {
      const item = event.target.closest("[data-review-item]");
      if (item && !event.target.closest("a, button")) select(item, false);
    });
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      const item = event.target.closest && event.target.closest("[data-review-item]");
      if (item) { decidingId = item.id; select(item, false); }
    });
    document.body.addEventListener("htmx:afterSettle", afterDecision);
    select(items().find(isPending) || items()[0], false);
  });
})();
