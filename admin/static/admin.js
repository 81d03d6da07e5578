// Kith admin: progressive enhancement only. Every action also works as a plain form.
(function () {
  "use strict";
  const csrf = () => document.body.dataset.csrf || "";

  function toast(text, bad) {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.className = bad ? "show bad" : "show";
    clearTimeout(el._t);
    el._t = setTimeout(() => { el.className = ""; }, 4000);
  }

  async function postJSON(url, body) {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      const fields = (data.fields || []).map((f) => f.field + ": " + f.message).join("; ");
      throw new Error(fields || data.message || ("Error " + res.status));
    }
    return data;
  }

  // ---- pipeline board: drag a card to another column (or onto won / lost) ----
  function setupBoard(board) {
    const canMove = board.dataset.canMove === "true";
    const zones = document.querySelector("[data-dropzones]");
    let dragged = null;
    board.addEventListener("dragstart", (e) => {
      const card = e.target.closest(".card");
      if (!card || !canMove) return;
      dragged = card;
      card.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.dataset.dealId);
      if (zones) zones.hidden = false;
    });
    document.addEventListener("dragend", () => {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      if (zones) zones.hidden = true;
      document.querySelectorAll(".drop-target").forEach((c) => c.classList.remove("drop-target"));
    });
    board.querySelectorAll(".column").forEach((column) => {
      column.addEventListener("dragover", (e) => {
        if (!dragged) return;
        e.preventDefault();
        column.classList.add("drop-target");
      });
      column.addEventListener("dragleave", () => column.classList.remove("drop-target"));
      column.addEventListener("drop", async (e) => {
        e.preventDefault();
        column.classList.remove("drop-target");
        const card = dragged;
        if (!card) return;
        const from = card.closest(".column");
        if (from === column) return;
        const cards = column.querySelector("[data-cards]");
        cards.prepend(card);
        try {
          const data = await postJSON("/admin/deals/" + card.dataset.dealId + "/move", { stage: column.dataset.stageId });
          for (const [stageId, html] of Object.entries(data.columns || {})) {
            const totals = board.querySelector('.column[data-stage-id="' + stageId + '"] [data-totals]');
            if (totals) totals.innerHTML = html;
          }
          toast("Moved to " + column.querySelector("h2").firstChild.textContent.trim());
        } catch (err) {
          from.querySelector("[data-cards]").prepend(card);
          toast(err.message, true);
        }
      });
    });
    if (zones) {
      zones.querySelectorAll("[data-outcome]").forEach((zone) => {
        zone.addEventListener("dragover", (e) => { if (dragged) { e.preventDefault(); zone.classList.add("drop-target"); } });
        zone.addEventListener("dragleave", () => zone.classList.remove("drop-target"));
        zone.addEventListener("drop", (e) => {
          e.preventDefault();
          if (!dragged) return;
          openClose(dragged.dataset.dealId, zone.dataset.outcome);
        });
      });
    }
    board.addEventListener("click", async (e) => {
      const more = e.target.closest("[data-more]");
      if (!more) return;
      e.preventDefault();
      const res = await fetch(more.href, { credentials: "same-origin" });
      if (!res.ok) { toast("Could not load more cards", true); return; }
      const holder = document.createElement("div");
      holder.innerHTML = await res.text();
      const fresh = holder.querySelector("[data-cards]") || holder;
      const list = more.parentElement;
      more.remove();
      Array.from(fresh.children).forEach((c) => list.appendChild(c));
    });
  }

  function openClose(dealId, outcome) {
    const dialog = document.getElementById("close-dialog");
    if (!dialog) return;
    const form = dialog.querySelector("form");
    form.action = "/admin/deals/" + dealId + "/close";
    form.outcome.value = outcome;
    dialog.querySelector("h2").textContent = outcome === "won" ? "Mark the deal won" : "Mark the deal lost";
    form.reason.required = outcome === "lost";
    dialog.showModal();
  }

  document.addEventListener("click", (e) => {
    const btn = e.target.closest("[data-close-deal]");
    if (btn) { e.preventDefault(); openClose(btn.dataset.dealId, btn.dataset.closeDeal); }
    const dismiss = e.target.closest("[data-dismiss]");
    if (dismiss) { const d = dismiss.closest("dialog"); if (d) d.close(); }
  });

  // ---- ticket queue: select all, bulk bar ----
  function setupBulk(form) {
    const all = form.querySelector("[data-select-all]");
    const boxes = () => Array.from(form.querySelectorAll("input[name='ticket[]']"));
    const bar = form.querySelector("[data-bulk-bar]");
    const update = () => {
      const n = boxes().filter((b) => b.checked).length;
      if (bar) { bar.hidden = n === 0; const c = bar.querySelector("[data-count]"); if (c) c.textContent = n; }
    };
    if (all) all.addEventListener("change", () => { boxes().forEach((b) => { b.checked = all.checked; }); update(); });
    form.addEventListener("change", update);
    update();
  }

  // ---- SLA clocks count down every minute ----
  function tickClocks() {
    document.querySelectorAll("[data-due]").forEach((el) => {
      const due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      let minutes = Math.floor((due - Date.now()) / 60000);
      const late = minutes < 0;
      minutes = Math.abs(minutes);
      const text = minutes >= 2880 ? Math.floor(minutes / 1440) + "d " + Math.floor((minutes % 1440) / 60) + "h"
        : minutes >= 60 ? Math.floor(minutes / 60) + "h " + String(minutes % 60).padStart(2, "0") + "m" : minutes + "m";
      el.textContent = late ? "overdue " + text : text;
      el.classList.toggle("late", late);
      el.classList.toggle("soon", !late && minutes < 60);
    });
  }

  // ---- keyboard shortcuts: / search, g p|t|d|s go to a page, j/k move in lists ----
  let pendingG = false;
  document.addEventListener("keydown", (e) => {
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === "/") { const s = document.getElementById("global-search"); if (s) { e.preventDefault(); s.focus(); } return; }
    if (pendingG) {
      pendingG = false;
      const go = { p: "/admin/board", t: "/admin/tickets", d: "/admin/dashboards", a: "/admin/automations", s: "/admin/settings" }[e.key];
      if (go) { window.location.href = go; }
      return;
    }
    if (e.key === "g") { pendingG = true; setTimeout(() => { pendingG = false; }, 1000); return; }
    if (e.key === "j" || e.key === "k") {
      const items = Array.from(document.querySelectorAll("[data-nav-item]"));
      if (!items.length) return;
      const i = items.indexOf(document.activeElement);
      const next = items[Math.max(0, Math.min(items.length - 1, i + (e.key === "j" ? 1 : -1)))];
      next.focus();
    }
    if (e.key === "Enter" && document.activeElement && document.activeElement.matches("[data-nav-item], .card")) {
      const link = document.activeElement.querySelector("a");
      if (link) window.location.href = link.href;
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-board]").forEach(setupBoard);
    document.querySelectorAll("[data-bulk]").forEach(setupBulk);
    tickClocks();
    setInterval(tickClocks, 30000);
  });
})();
