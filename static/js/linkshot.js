/* Linkshot: keyboard shortcuts, bulk selection and tag autocomplete. No dependencies. */
(function () {
  "use strict";

  function isTyping(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  /* "/" focuses the search box, "n" opens the add form, Ctrl/Cmd+Enter submits a form. */
  function setUpShortcuts() {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
        event.preventDefault();
        event.target.form.requestSubmit();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      if (event.key === "/") {
        const search = document.querySelector("[data-search-input]");
        if (search) { event.preventDefault(); search.focus(); search.select(); }
      } else if (event.key === "n") {
        const add = document.querySelector("a[data-shortcut='add']");
        if (add) { event.preventDefault(); window.location.assign(add.href); }
      } else if (event.key === "j" || event.key === "k") {
        moveRowFocus(event.key === "j" ? 1 : -1) && event.preventDefault();
      } else if (event.key === "x") {
        const row = document.activeElement.closest(".link-row");
        if (row) { event.preventDefault(); row.querySelector(".row-check").click(); }
      }
    });
  }

  /* j/k move between the titles of the list; Enter then opens one, x selects it. */
  function moveRowFocus(step) {
    const titles = Array.from(document.querySelectorAll(".link-row .link-title"));
    if (!titles.length) return false;
    const current = titles.indexOf(document.activeElement);
    const next = current === -1 ? (step > 0 ? 0 : titles.length - 1) : current + step;
    if (next < 0 || next >= titles.length) return true;
    titles[next].focus();
    titles[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  /* Bulk bar: select all, a live count and shift-click to select a range of rows.
     Rows are looked up on each use: accepting a suggested tag swaps its row for a new one. */
  function setUpBulk() {
    const form = document.querySelector("[data-bulk-form]");
    if (!form) return;
    const all = form.querySelector("[data-select-all]");
    const counter = form.querySelector("[data-selected-count]");
    const boxes = function () { return Array.from(document.querySelectorAll(".row-check")); };
    let lastClicked = null;

    function refresh() {
      const current = boxes();
      const checked = current.filter(function (box) { return box.checked; }).length;
      counter.textContent = checked ? checked + " selected" : "Select";
      all.checked = checked > 0 && checked === current.length;
      all.indeterminate = checked > 0 && checked < current.length;
      current.forEach(function (box) { box.closest(".link-row").classList.toggle("is-selected", box.checked); });
    }
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
      refresh();
    });
    document.addEventListener("click", function (event) {
      const box = event.target.closest(".row-check");
      if (!box) return;
      const current = boxes();
      if (event.shiftKey && lastClicked !== null && current.indexOf(lastClicked) !== -1) {
        const [from, to] = [current.indexOf(lastClicked), current.indexOf(box)].sort(function (a, b) { return a - b; });
        current.slice(from, to + 1).forEach(function (other) { other.checked = box.checked; });
      }
      lastClicked = box;
      refresh();
    });
    document.addEventListener("htmx:afterSwap", refresh);
    refresh();
  }

  /* Tag autocomplete for comma-separated tag fields: completes the piece being typed. */
  function TagAutocomplete(input, url) {
    this.input = input;
    this.url = url;
    this.items = [];
    this.active = -1;
    this.timer = null;
    this.list = document.createElement("ul");
    this.list.className = "autocomplete";
    this.list.setAttribute("role", "listbox");
    this.list.id = (input.id || input.name) + "-suggestions";
    this.list.hidden = true;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", this.list.id);
    // A positioned wrapper keeps the suggestions right under the input wherever it sits.
    const wrapper = document.createElement("span");
    wrapper.className = "has-autocomplete";
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);
    wrapper.appendChild(this.list);
    input.addEventListener("input", this.schedule.bind(this));
    input.addEventListener("focus", this.schedule.bind(this));
    input.addEventListener("keydown", this.onKey.bind(this));
    input.addEventListener("blur", function () { setTimeout(this.close.bind(this), 150); }.bind(this));
  }

  TagAutocomplete.prototype.pieces = function () {
    return this.input.value.split(",");
  };

  TagAutocomplete.prototype.schedule = function () {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.fetch.bind(this), 120);
  };

  TagAutocomplete.prototype.fetch = function () {
    const pieces = this.pieces();
    const current = pieces[pieces.length - 1].trim();
    const chosen = pieces.slice(0, -1).map(function (p) { return p.trim().toLowerCase(); });
    const self = this;
    fetch(this.url + "?q=" + encodeURIComponent(current), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) {
        self.show(data.results.filter(function (tag) {
          return chosen.indexOf(tag.name.toLowerCase()) === -1 && tag.name.toLowerCase() !== current.toLowerCase();
        }));
      })
      .catch(function () { self.close(); });
  };

  TagAutocomplete.prototype.show = function (results) {
    this.items = results;
    this.active = results.length ? 0 : -1;
    this.list.replaceChildren();
    const self = this;
    results.forEach(function (tag, index) {
      const item = document.createElement("li");
      item.id = self.list.id + "-" + index;
      item.setAttribute("role", "option");
      item.textContent = tag.name;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = tag.count;
      item.appendChild(count);
      item.addEventListener("mousedown", function (event) { event.preventDefault(); self.choose(index); });
      self.list.appendChild(item);
    });
    const open = results.length > 0 && document.activeElement === this.input;
    this.list.hidden = !open;
    this.input.setAttribute("aria-expanded", String(open));
    this.highlight();
  };

  TagAutocomplete.prototype.highlight = function () {
    const self = this;
    Array.from(this.list.children).forEach(function (item, index) {
      item.setAttribute("aria-selected", String(index === self.active));
    });
    if (this.active >= 0) this.input.setAttribute("aria-activedescendant", this.list.id + "-" + this.active);
    else this.input.removeAttribute("aria-activedescendant");
  };

  TagAutocomplete.prototype.choose = function (index) {
    const pieces = this.pieces();
    pieces[pieces.length - 1] = " " + this.items[index].name;
    this.input.value = pieces.join(",").replace(/^\s+/, "") + ", ";
    this.close();
    this.input.focus();
  };

  TagAutocomplete.prototype.close = function () {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
  };

  TagAutocomplete.prototype.onKey = function (event) {
    if (this.list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.items.length) % this.items.length;
      this.highlight();
    } else if ((event.key === "Enter" || event.key === "Tab") && this.active >= 0 && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      this.choose(this.active);
    } else if (event.key === "Escape") {
      this.close();
    }
  };

  function setUpAutocomplete() {
    const meta = document.querySelector("meta[name='tag-autocomplete-url']");
    if (!meta) return;
    document.querySelectorAll("[data-tag-autocomplete]").forEach(function (input) {
      new TagAutocomplete(input, meta.content);
    });
  }

  /* Tag index: narrow the rows or the cloud as you type. */
  function setUpTagFilter() {
    const filter = document.querySelector("[data-tag-filter]");
    if (!filter) return;
    filter.addEventListener("input", function () {
      const text = filter.value.trim().toLowerCase();
      document.querySelectorAll("[data-tag-name]").forEach(function (element) {
        element.hidden = text !== "" && element.dataset.tagName.indexOf(text) === -1;
      });
    });
  }

  /* A refused decision (400) comes back as the part of the page with the reason in it: show it. */
  function setUpErrorSwaps() {
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.xhr.status === 400) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpErrorSwaps();
    setUpShortcuts();
    setUpBulk();
    setUpAutocomplete();
    setUpTagFilter();
  });
})();
