// Small progressive enhancements; the CSP forbids inline scripts, so they live here.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit")) {
    el.form.requestSubmit();
  }
});

// The plan editor's live check swaps the review that holds the justification boxes. A check sent
// before the physician typed must not wipe what was typed since: keep the boxes' text and caret.
let keptTyping = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (!(target instanceof HTMLElement) || !target.hasAttribute("data-keep-typed")) return;
  const values = new Map();
  target.querySelectorAll("textarea[name]").forEach((box) => values.set(box.name, box.value));
  const active = document.activeElement;
  const focus = active instanceof HTMLTextAreaElement && target.contains(active)
    ? { name: active.name, start: active.selectionStart, end: active.selectionEnd } : null;
  keptTyping = { id: target.id, values, focus };
});
document.addEventListener("htmx:afterSwap", () => {
  const kept = keptTyping;
  keptTyping = null;
  const target = kept && document.getElementById(kept.id);
  if (!target) return;
  target.querySelectorAll("textarea[name]").forEach((box) => {
    if (kept.values.has(box.name)) box.value = kept.values.get(box.name);
    if (kept.focus && kept.focus.name === box.name) {
      box.focus();
      box.setSelectionRange(kept.focus.start, kept.focus.end);
    }
  });
});

// Once a form is being saved, or the page is being left, a live check still waiting on its
// delay is pointless: it would race the save.
let leaving = false;
document.addEventListener("submit", (event) => {
  // htmx handles (and prevents) the submit of a live-search form: that page stays.
  if (!event.defaultPrevented) leaving = true;
});
window.addEventListener("pagehide", () => { leaving = true; });
window.addEventListener("pageshow", () => { leaving = false; });
document.addEventListener("htmx:beforeRequest", (event) => {
  if (leaving) event.preventDefault();
});
