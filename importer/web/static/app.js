// gphotos-importer's page: our own plain JavaScript, no library.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;

function notice(text) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.hidden = !text;
  if (text) setTimeout(() => { if (box.textContent === text) box.hidden = true; }, 8000);
}

async function post(url, body) {
  const answer = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
    body: JSON.stringify(body),
  });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(data.error || answer.statusText);
  return data;
}

// Parts of a page marked data-refresh="URL" are re-fetched every data-every ms and
// swapped in when they changed: live progress without reloading the page.
function keepFresh(element) {
  const every = Number(element.dataset.every) || 1000;
  const tick = async () => {
    try {
      const answer = await fetch(element.dataset.refresh, {credentials: "same-origin"});
      if (answer.ok) {
        const html = await answer.text();
        if (html !== element.dataset.last) {
          element.dataset.last = html;
          element.innerHTML = html;
          element.dispatchEvent(new CustomEvent("refreshed"));
        }
      }
    } catch (error) { /* the server restarts: try again on the next tick */ }
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
}

// Overview: when an import changes state (finished, stopped), reload the counts too.
function followImports() {
  const imports = document.getElementById("imports");
  const counts = document.getElementById("counts");
  if (!imports || !counts) return;
  const states = () => [...imports.querySelectorAll(".import")].map(
    (run) => run.dataset.target + "=" + run.dataset.state).join(",");
  let seen = states();
  imports.addEventListener("refreshed", async () => {
    const now = states();
    if (now === seen) return;
    seen = now;
    const answer = await fetch("/fragments/counts", {credentials: "same-origin"});
    if (answer.ok) counts.innerHTML = await answer.text();
  });
}

// Reclaim review ---------------------------------------------------------------------
function planId() {
  const plan = document.getElementById("plan");
  return plan ? plan.dataset.plan : null;
}

async function loadMonth(details) {
  const tiles = details.querySelector(".tiles");
  if (tiles.dataset.loaded !== "no") return;
  tiles.dataset.loaded = "loading";
  const query = new URLSearchParams({plan: planId(), month: details.dataset.month});
  const answer = await fetch("/fragments/month?" + query, {credentials: "same-origin"});
  if (!answer.ok) { tiles.dataset.loaded = "no"; notice(await answer.text()); return; }
  tiles.innerHTML = await answer.text();
  tiles.dataset.loaded = "yes";
}

function readableBytes(size) {
  // As the server's `bytes` filter writes them (powers of 1000).
  let value = Number(size) || 0;
  for (const unit of ["B", "KB", "MB", "GB", "TB"]) {
    if (value < 1000 || unit === "TB") return unit === "B" ? `${value.toFixed(0)} B` : `${value.toFixed(1)} ${unit}`;
    value /= 1000;
  }
  return "";
}

function showSummary(summary) {
  for (const key of ["trash", "kept", "approved", "rejected"]) {
    document.querySelectorAll(`[data-total="${key}"]`).forEach((e) => { e.textContent = summary[key]; });
  }
  for (const key of ["trash_bytes", "approved_bytes"]) {
    document.querySelectorAll(`[data-total="${key}"]`).forEach((e) => { e.textContent = readableBytes(summary[key]); });
  }
  for (const [key, month] of Object.entries(summary.months)) {
    const details = document.querySelector(`details.month[data-month="${CSS.escape(key)}"]`);
    if (!details) continue;
    details.querySelector('[data-month-count="approved"]').textContent = month.approved;
    details.querySelector('[data-month-count="rejected"]').textContent = month.rejected;
  }
  const button = document.getElementById("apply-button");
  if (button) {
    button.dataset.approved = summary.approved;
    button.textContent = `Move ${summary.approved} approved item(s) to Google's trash`;
    button.disabled = summary.approved === 0 || button.dataset.running === "yes";
  }
}

async function decide(button) {
  const approved = button.dataset.action === "approve";
  const body = {plan: planId(), scope: button.dataset.scope, key: button.dataset.key, approved};
  if (button.dataset.url) body.url = button.dataset.url;
  try {
    const answer = await post("/reclaim/approve", body);
    for (const index of answer.changed) {
      const tile = document.querySelector(`.tile[data-index="${index}"]`);
      if (tile) tile.dataset.approved = String(answer.approved);
    }
    showSummary(answer.summary);
  } catch (error) {
    notice(error.message);
  }
}

async function applyPlan(button) {
  const count = Number(button.dataset.approved);
  if (!confirm(`Move ${count} approved item(s) to Google's trash? Each is checked again first.`)) return;
  button.disabled = true;
  try {
    await post("/reclaim/apply", {plan: button.dataset.plan});
    notice("Started: progress shows below.");
  } catch (error) {
    button.disabled = false;
    notice(error.message);
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.id === "apply-button") { event.preventDefault(); applyPlan(button); return; }
  if (button.dataset.action) { event.preventDefault(); decide(button); }
});

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-refresh]").forEach(keepFresh);
  followImports();
  document.querySelectorAll("details.month").forEach((details) => {
    if (details.open) loadMonth(details);
    details.addEventListener("toggle", () => { if (details.open) loadMonth(details); });
  });
});
