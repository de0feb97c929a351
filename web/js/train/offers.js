// The saved trainings the training page offers as it opens: every record is checked (saved.js),
// the newest sound one is offered to continue, the newest damaged one is named in one line with a
// fresh start and a download of its raw record. A damaged record stays in IndexedDB as it is until
// a save of the same data set and model replaces it, or Discard deletes it.
import { saved } from "./store.js";
import { damagedLine, savedProblem } from "./saved.js";
import { recordFile } from "./record-file.js";

const $ = (id) => document.getElementById(id);
// What setUpOffers is given: the page's state, and its start, chooseTraining and showError.
let page = null;

/** Hands `text` to the browser as a download named `fileName`. */
export function saveFile(text, fileName) {
  const link = document.createElement("a");
  link.download = fileName;
  link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

/**
 * Names a saved training that cannot be continued, and offers a fresh start and its record as a
 * file; the page's state keeps `{ key, message }` as `damaged`.
 * @param {string} key the record's key, "dataset/model"
 * @param {string} message damagedLine's one line
 * @param {number} others how many more saved trainings are damaged
 */
export function showDamaged(key, message, others = 0) {
  page.state.damaged = { key, message };
  $("damaged-text").textContent = message;
  $("damaged-note").textContent = ` It is kept in this browser as it is: starting afresh leaves it there, saving a new training ` +
    `of ${key} replaces it, Discard deletes it.${others ? ` ${others} more saved training${others > 1 ? "s are" : " is"} damaged.` : ""}`;
  $("saved-damaged").hidden = false;
}

/** Takes the damaged save's line away (it was replaced or discarded). */
export function hideDamaged() {
  page.state.damaged = null;
  $("saved-damaged").hidden = true;
}

function startAfresh() {
  const { key } = page.state.damaged;
  page.chooseTraining(key);
  $("saved-damaged").hidden = true;
  $("notice").textContent = `The damaged save of ${key} is still in this browser, untouched: saving this training replaces it.`;
  page.start();
}

async function downloadSaved() {
  try {
    const record = await saved.get(page.state.damaged.key);
    if (!record) throw new Error("it is no longer in this browser");
    const { text, fileName } = await recordFile(record);
    saveFile(text, fileName);
    $("notice").textContent = `Downloaded ${fileName}: the saved record as IndexedDB holds it (its bytes in base64).`;
  } catch (error) {
    page.showError(`the saved record cannot be downloaded: ${error.message}`);
  }
}

async function discard(key) {
  try {
    await saved.remove(key);
  } catch (error) {
    page.showError(error.message);
  }
}

async function offerSaved() {
  let records = [];
  try {
    records = await saved.list();
  } catch (error) {
    $("notice").textContent = `Saved trainings cannot be read: ${error.message}`;
  }
  const checked = records.map((record) => ({ record, problem: savedProblem(record) }))
    .sort((a, b) => String(b.record.savedAt).localeCompare(String(a.record.savedAt)));
  const damaged = checked.filter(({ problem }) => problem);
  if (damaged.length) showDamaged(damaged[0].record.key, damagedLine(damaged[0].record, damaged[0].problem), damaged.length - 1);
  const newest = checked.find(({ problem }) => !problem)?.record;
  if (!newest) return;
  page.state.offered = newest.key;
  $("saved-text").textContent = `A saved training in this browser: ${newest.options.model} on ${newest.options.dataset}, ` +
    `${newest.counts.g} G steps, saved ${new Date(newest.savedAt).toLocaleString()}.`;
  $("saved-offer").hidden = false;
}

/**
 * Wires the offers' buttons and shows what is saved.
 * @param {{ state: object, start: (restoreKey?: string) => void, chooseTraining: (key: string) => void,
 *   showError: (message: string) => void }} training the page's state and functions
 * @returns {Promise<void>} once the saved trainings are offered
 */
export function setUpOffers(training) {
  page = training;
  $("continue").addEventListener("click", () => page.start(page.state.offered));
  $("discard").addEventListener("click", async () => {
    await discard(page.state.offered);
    $("saved-offer").hidden = true;
  });
  $("fresh").addEventListener("click", startAfresh);
  $("download-saved").addEventListener("click", downloadSaved);
  $("discard-damaged").addEventListener("click", async () => {
    await discard(page.state.damaged.key);
    hideDamaged();
  });
  return offerSaved();
}
