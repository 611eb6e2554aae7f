// The session chart's injection map (charting/_injection_map.html): tap or click a region of a map
// to add a numbered point, give each point its depth and volume, and keep the hidden "points"
// input in sync. Loaded as a file (the CSP forbids inline scripts), no library. Every text a user
// reads comes from data-* attributes that the template translates; this file has none of its own.
(() => {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const TAP_SLOP_PX = 10; // a finger may move this far and still tap (more is a scroll)
  const POINT_RADIUS_PX = 13; // drawn size of a point, whatever the map's scale
  const HINT_MS = 2600;

  const fill = (template, values) =>
    (template || "").replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
  const round1 = (value) => Math.round(value * 10) / 10;
  const asNumber = (value) => {
    if (typeof value === "number") { return Number.isFinite(value) ? value : null; }
    if (typeof value !== "string" || value.trim() === "") { return null; }
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  };

  class InjectionMap {
    constructor(root) {
      this.root = root;
      this.data = root.dataset;
      this.readonly = this.data.readonly === "true";
      this.input = root.querySelector("[data-points-input]");
      this.body = root.querySelector("[data-points-body]");
      this.empty = root.querySelector("[data-points-empty]");
      this.hint = root.querySelector("[data-map-hint]");
      this.select = root.querySelector("[data-region-select]");
      this.addButton = root.querySelector("[data-add-point]");
      this.tabs = Array.from(root.querySelectorAll("[data-map-tab]"));
      this.panels = new Map();
      this.svgs = new Map();
      root.querySelectorAll("[data-map-panel]").forEach((panel) => {
        const svg = panel.querySelector("svg.injection-map-svg");
        this.panels.set(panel.dataset.mapPanel, panel);
        if (svg) { this.svgs.set(panel.dataset.mapPanel, svg); }
      });
      this.depthMin = asNumber(this.data.depthMin);
      this.depthMax = asNumber(this.data.depthMax);
      const lang = document.documentElement.lang || undefined;
      this.formatVolume = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      this.formatDepth = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
      this.points = this.restore();
      this.current = (this.tabs.find((tab) => tab.getAttribute("aria-selected") === "true") || this.tabs[0] || {})
        .dataset?.mapTab || this.svgs.keys().next().value;
      this.bind();
      if (this.readonly) {
        root.querySelectorAll("[data-map-add]").forEach((el) => { el.hidden = true; });
      }
      this.show(this.current, false);
      this.renderRows();
      this.sync(false);
    }

    // --- State -----------------------------------------------------------------------------

    restore() {
      let raw;
      try { raw = JSON.parse(this.input.value || "[]"); } catch (error) { raw = []; }
      if (!Array.isArray(raw)) { raw = []; }
      return raw.filter((p) => p && typeof p === "object").map((p) => ({
        map: String(p.map ?? ""),
        x: asNumber(p.x),
        y: asNumber(p.y),
        region: String(p.region ?? ""),
        depth: p.depth_mm == null ? "" : String(p.depth_mm),
        volume: p.volume_ml == null ? "" : String(p.volume_ml),
        reason: typeof p.depth_reason === "string" ? p.depth_reason : "",
      }));
    }

    outOfRange(point) {
      const depth = asNumber(point.depth);
      if (depth === null) { return false; }
      return (this.depthMin !== null && depth < this.depthMin - 1e-9)
        || (this.depthMax !== null && depth > this.depthMax + 1e-9);
    }

    serialise() {
      return JSON.stringify(this.points.map((p) => ({
        map: p.map,
        x: p.x,
        y: p.y,
        region: p.region,
        depth_mm: asNumber(p.depth),
        volume_ml: asNumber(p.volume),
        depth_reason: this.outOfRange(p) ? p.reason : "",
      })));
    }

    // Writes the hidden input, the totals, the per-map counts and the points on the maps.
    sync(announceChange = true) {
      const value = this.serialise();
      if (this.input.value !== value) {
        this.input.value = value;
        if (announceChange) { this.input.dispatchEvent(new Event("change", { bubbles: true })); }
      }
      const total = this.points.reduce((sum, p) => sum + (asNumber(p.volume) ?? 0), 0);
      this.root.querySelectorAll("[data-total-count]").forEach((el) => { el.textContent = String(this.points.length); });
      this.root.querySelectorAll("[data-total-volume]").forEach((el) => { el.textContent = this.formatVolume.format(total); });
      this.tabs.forEach((tab) => {
        const count = this.points.filter((p) => p.map === tab.dataset.mapTab).length;
        const badge = tab.querySelector("[data-tab-count]");
        if (badge) { badge.textContent = count ? String(count) : ""; badge.hidden = !count; }
      });
      if (this.empty) { this.empty.hidden = this.points.length > 0; }
      this.drawPoints();
    }

    // --- Maps ------------------------------------------------------------------------------

    bind() {
      this.tabs.forEach((tab) => {
        tab.addEventListener("click", () => this.show(tab.dataset.mapTab, true));
        tab.addEventListener("keydown", (event) => this.tabKey(event, tab));
      });
      this.svgs.forEach((svg, mapId) => {
        let down = null;
        svg.addEventListener("pointerdown", (event) => {
          if (event.isPrimary && event.button === 0) {
            down = { id: event.pointerId, x: event.clientX, y: event.clientY };
          }
        });
        svg.addEventListener("pointercancel", () => { down = null; });
        svg.addEventListener("pointerup", (event) => {
          const start = down;
          down = null;
          if (!start || start.id !== event.pointerId) { return; }
          if (Math.hypot(event.clientX - start.x, event.clientY - start.y) > TAP_SLOP_PX) { return; }
          this.tap(mapId, svg, event);
        });
        // A tap on a dot selects its row; done on click, after the browser has moved focus.
        svg.addEventListener("click", (event) => {
          const dot = event.target.closest(".point");
          if (dot && !this.readonly) { this.focusRow(Number(dot.dataset.index)); }
        });
      });
      if (this.select) {
        // The region chosen in the list lights up on the map while the list is in use.
        this.select.addEventListener("change", () => this.highlight(this.select.value));
        this.select.addEventListener("focus", () => this.highlight(this.select.value));
        this.select.addEventListener("blur", () => this.highlight(null));
      }
      if (this.addButton) {
        this.addButton.addEventListener("click", () => this.addAtRegion(this.current, this.select.value));
      }
      this.body.addEventListener("input", (event) => this.edit(event));
      this.body.addEventListener("click", (event) => {
        const button = event.target.closest("[data-remove]");
        if (button) { this.remove(Number(button.closest("tr").dataset.index)); }
      });
      let resizing = 0;
      window.addEventListener("resize", () => {
        window.cancelAnimationFrame(resizing);
        resizing = window.requestAnimationFrame(() => this.drawPoints());
      });
    }

    tabKey(event, tab) {
      const i = this.tabs.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: this.tabs.length - 1 }[event.key];
      if (next === undefined) { return; }
      event.preventDefault();
      const target = this.tabs[(next + this.tabs.length) % this.tabs.length];
      this.show(target.dataset.mapTab, true);
      target.focus();
    }

    show(mapId, userAction) {
      if (!this.panels.has(mapId)) { return; }
      this.current = mapId;
      this.tabs.forEach((tab) => {
        const selected = tab.dataset.mapTab === mapId;
        tab.setAttribute("aria-selected", selected ? "true" : "false");
        tab.tabIndex = selected ? 0 : -1;
      });
      this.panels.forEach((panel, id) => { panel.hidden = id !== mapId; });
      this.fillSelect();
      this.drawPoints();
      if (userAction) { this.say(""); }
    }

    regionsOf(mapId) {
      const svg = this.svgs.get(mapId);
      return svg ? Array.from(svg.querySelectorAll(".map-layers [data-region]")) : [];
    }

    fillSelect() {
      if (!this.select) { return; }
      const keep = this.select.value;
      this.select.replaceChildren(...this.regionsOf(this.current).map((path) => {
        const option = document.createElement("option");
        option.value = path.dataset.region;
        option.textContent = path.dataset.label;
        return option;
      }).sort((a, b) => a.textContent.localeCompare(b.textContent)));
      if (Array.from(this.select.options).some((o) => o.value === keep)) { this.select.value = keep; }
      this.highlight(document.activeElement === this.select ? this.select.value : null);
    }

    highlight(regionId) {
      this.regionsOf(this.current).forEach((path) => {
        path.classList.toggle("is-selected", path.dataset.region === regionId);
      });
    }

    regionLabel(mapId, regionId) {
      const path = this.svgs.get(mapId)?.querySelector(`[data-region="${CSS.escape(regionId)}"]`);
      return path ? path.dataset.label : regionId;
    }

    mapLabel(mapId) {
      return this.panels.get(mapId)?.dataset.mapLabel || mapId;
    }

    // The region under a point in map coordinates, found as the server finds it: the top-most
    // layer (region or mask) whose shape, within its clip, holds the point.
    locate(svg, x, y) {
      const box = svg.viewBox.baseVal;
      if (x < box.x || y < box.y || x > box.x + box.width || y > box.y + box.height) { return null; }
      const layers = Array.from(svg.querySelectorAll(".map-layers > path")).reverse();
      const probe = svg.createSVGPoint();
      probe.x = x;
      probe.y = y;
      for (const layer of layers) {
        if (typeof layer.isPointInFill !== "function") { return this.locateByHit(svg, x, y); }
        if (!layer.isPointInFill(probe)) { continue; }
        const clip = layer.getAttribute("clip-path");
        if (clip) {
          const id = clip.replace(/^url\(#/, "").replace(/\)$/, "");
          const clipPath = svg.querySelector(`clipPath[id="${CSS.escape(id)}"] path`);
          if (clipPath && !clipPath.isPointInFill(probe)) { continue; }
        }
        return layer.dataset.region || null;
      }
      return null;
    }

    // Fallback for browsers without isPointInFill: ask the page what lies under the point.
    locateByHit(svg, x, y) {
      const probe = svg.createSVGPoint();
      probe.x = x;
      probe.y = y;
      const screen = probe.matrixTransform(svg.getScreenCTM());
      const hit = document.elementsFromPoint(screen.x, screen.y)
        .find((el) => svg.contains(el) && el.closest(".map-layers"));
      return hit ? hit.dataset.region || null : null;
    }

    toMap(svg, clientX, clientY) {
      const probe = svg.createSVGPoint();
      probe.x = clientX;
      probe.y = clientY;
      const p = probe.matrixTransform(svg.getScreenCTM().inverse());
      return { x: round1(p.x), y: round1(p.y) };
    }

    anchorOf(svg, regionId) {
      const path = svg.querySelector(`.map-layers [data-region="${CSS.escape(regionId)}"]`);
      if (!path) { return null; }
      const [x, y] = (path.dataset.anchor || "").split(" ").map(Number);
      return Number.isFinite(x) && Number.isFinite(y) ? { x, y } : null;
    }

    tap(mapId, svg, event) {
      if (this.readonly) { return; }
      if (event.target.closest(".point")) { return; } // the click handler selects its row
      let p = this.toMap(svg, event.clientX, event.clientY);
      let region = this.locate(svg, p.x, p.y);
      const tapped = event.target.closest("[data-region]");
      if (!region && tapped) {
        // Rounding to one decimal moved a tap on the very edge off its region: step inwards.
        const anchor = this.anchorOf(svg, tapped.dataset.region);
        for (let step = 1; anchor && !region && step <= 20; step += 1) {
          const length = Math.hypot(anchor.x - p.x, anchor.y - p.y) || 1;
          p = { x: round1(p.x + ((anchor.x - p.x) / length) * 0.1), y: round1(p.y + ((anchor.y - p.y) / length) * 0.1) };
          region = this.locate(svg, p.x, p.y);
        }
      }
      if (!region) {
        this.refuse(mapId);
        return;
      }
      this.add(mapId, p.x, p.y, region);
    }

    addAtRegion(mapId, regionId) {
      const svg = this.svgs.get(mapId);
      if (this.readonly || !svg || !regionId) { return; }
      const anchor = this.anchorOf(svg, regionId);
      if (!anchor) { return; }
      // Points added from the keyboard spiral out from the anchor so they do not hide each other.
      const already = this.points.filter((p) => p.map === mapId && p.region === regionId).length;
      let spot = anchor;
      if (already) {
        const angle = already * 2.39996;
        const radius = 2.5 * Math.sqrt(already);
        const candidate = { x: round1(anchor.x + radius * Math.cos(angle)), y: round1(anchor.y + radius * Math.sin(angle)) };
        if (this.locate(svg, candidate.x, candidate.y) === regionId) { spot = candidate; }
      }
      this.add(mapId, spot.x, spot.y, regionId);
    }

    add(mapId, x, y, regionId) {
      this.points.push({
        map: mapId,
        x,
        y,
        region: regionId,
        depth: this.data.defaultDepth ?? "",
        volume: this.data.defaultVolume ?? "",
        reason: "",
      });
      this.renderRows();
      this.sync();
      const n = this.points.length;
      this.say(fill(this.data.msgAdded, { n, region: this.regionLabel(mapId, regionId) }));
    }

    remove(index) {
      if (this.readonly || !(index >= 0 && index < this.points.length)) { return; }
      this.points.splice(index, 1);
      this.renderRows();
      this.sync();
      this.say(fill(this.data.msgRemoved, { n: index + 1 }));
      const rows = this.body.querySelectorAll("tr");
      const next = rows[Math.min(index, rows.length - 1)];
      (next ? next.querySelector("[data-remove]") : this.addButton || this.tabs[0])?.focus();
    }

    refuse(mapId) {
      this.say(this.data.msgOffMap, true);
      const panel = this.panels.get(mapId);
      panel.classList.remove("is-refused");
      void panel.getBoundingClientRect(); // restart the animation on a second refusal
      panel.classList.add("is-refused");
    }

    say(text, warning = false) {
      if (!this.hint) { return; }
      window.clearTimeout(this.hintTimer);
      this.hint.textContent = text;
      this.hint.classList.toggle("is-warning", warning);
      if (text) { this.hintTimer = window.setTimeout(() => { this.hint.textContent = ""; }, HINT_MS); }
    }

    scaleOf(svg) {
      const width = svg.getBoundingClientRect().width;
      return width ? width / svg.viewBox.baseVal.width : 0;
    }

    drawPoints() {
      this.svgs.forEach((svg, mapId) => {
        const layer = svg.querySelector("g.points");
        if (!layer) { return; }
        const scale = this.scaleOf(svg);
        if (!scale) { return; } // a hidden map is drawn when it is shown
        const r = POINT_RADIUS_PX / scale;
        layer.replaceChildren();
        this.points.forEach((p, index) => {
          if (p.map !== mapId || p.x === null || p.y === null) { return; }
          const group = document.createElementNS(SVG_NS, "g");
          group.setAttribute("class", this.outOfRange(p) ? "point is-warning" : "point");
          group.dataset.index = String(index);
          const circle = document.createElementNS(SVG_NS, "circle");
          circle.setAttribute("cx", String(p.x));
          circle.setAttribute("cy", String(p.y));
          circle.setAttribute("r", String(r));
          circle.setAttribute("stroke-width", String(r / 5));
          const label = document.createElementNS(SVG_NS, "text");
          label.setAttribute("x", String(p.x));
          label.setAttribute("y", String(p.y));
          label.setAttribute("dy", "0.35em");
          label.setAttribute("text-anchor", "middle");
          label.setAttribute("font-size", String(r * (index + 1 > 99 ? 0.85 : 1.15)));
          label.textContent = String(index + 1);
          group.append(circle, label);
          layer.append(group);
        });
      });
    }

    // --- The list of points ------------------------------------------------------------------

    renderRows() {
      this.body.replaceChildren(...this.points.map((p, index) => this.row(p, index)));
    }

    row(p, index) {
      const n = index + 1;
      const tr = document.createElement("tr");
      tr.className = "point-row";
      tr.dataset.index = String(index);

      const number = document.createElement("th");
      number.scope = "row";
      const badge = document.createElement("span");
      badge.className = "point-badge";
      badge.textContent = String(n);
      number.append(badge);

      const where = document.createElement("td");
      const region = document.createElement("span");
      region.className = "point-region";
      region.textContent = this.regionLabel(p.map, p.region);
      const map = document.createElement("span");
      map.className = "point-map";
      map.textContent = this.mapLabel(p.map);
      where.append(region, map);

      const depthCell = document.createElement("td");
      const depth = this.numberInput("depth", p.depth, "0.5", fill(this.data.labelDepth, { n }));
      const warning = document.createElement("p");
      warning.className = "depth-warning";
      warning.dataset.warning = "";
      const reason = document.createElement("input");
      reason.type = "text";
      reason.className = "depth-reason";
      reason.dataset.field = "reason";
      reason.maxLength = 200;
      reason.value = p.reason;
      reason.placeholder = this.data.placeholderReason || "";
      reason.setAttribute("aria-label", fill(this.data.labelReason, { n }));
      reason.disabled = this.readonly;
      const reasonId = `${this.root.id || "injmap"}-reason-${n}`;
      warning.id = `${reasonId}-warning`;
      reason.id = reasonId;
      reason.setAttribute("aria-describedby", warning.id);
      depthCell.append(depth, warning, reason);

      const volumeCell = document.createElement("td");
      volumeCell.append(this.numberInput("volume", p.volume, "0.01", fill(this.data.labelVolume, { n })));

      const actions = document.createElement("td");
      if (!this.readonly) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-ghost point-remove";
        button.dataset.remove = "";
        button.textContent = this.data.textRemove || "×";
        button.setAttribute("aria-label", fill(this.data.labelRemove, { n }));
        actions.append(button);
      }
      tr.append(number, where, depthCell, volumeCell, actions);
      this.updateRow(tr, p);
      return tr;
    }

    numberInput(field, value, step, label) {
      const input = document.createElement("input");
      input.type = "number";
      input.inputMode = "decimal";
      input.step = step;
      input.min = "0";
      input.value = value;
      input.dataset.field = field;
      input.setAttribute("aria-label", label);
      input.disabled = this.readonly;
      return input;
    }

    // The row's warning and reason follow its depth: outside the protocol's range asks for a reason.
    updateRow(tr, p) {
      const out = this.outOfRange(p);
      tr.classList.toggle("out-of-range", out);
      const warning = tr.querySelector("[data-warning]");
      const reason = tr.querySelector(".depth-reason");
      warning.hidden = !out;
      reason.hidden = !out;
      reason.required = out && !this.readonly;
      if (out) {
        warning.textContent = fill(this.data.msgDepthRange, {
          min: this.depthMin === null ? "" : this.formatDepth.format(this.depthMin),
          max: this.depthMax === null ? "" : this.formatDepth.format(this.depthMax),
        });
      }
      for (const input of tr.querySelectorAll("input[type=number]")) {
        const bad = input.value.trim() === "" || asNumber(input.value) === null || Number(input.value) < 0;
        input.setAttribute("aria-invalid", bad ? "true" : "false");
      }
    }

    edit(event) {
      const input = event.target;
      const tr = input.closest("tr");
      if (!tr || !input.dataset.field) { return; }
      const p = this.points[Number(tr.dataset.index)];
      if (!p) { return; }
      p[input.dataset.field] = input.value;
      this.updateRow(tr, p);
      this.sync();
    }

    focusRow(index) {
      const tr = this.body.querySelector(`tr[data-index="${index}"]`);
      if (!tr) { return; }
      tr.querySelector("input:not([disabled])")?.focus();
      tr.classList.remove("is-flashed");
      void tr.getBoundingClientRect();
      tr.classList.add("is-flashed");
    }
  }

  function start() {
    document.querySelectorAll(".injection-map:not([data-ready])").forEach((root) => {
      root.dataset.ready = "true";
      root.injectionMap = new InjectionMap(root);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  // A chart fragment swapped in by htmx (an invalid form comes back re-rendered) starts again.
  document.addEventListener("htmx:load", start);
})();
