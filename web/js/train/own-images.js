// The "Your own images" panel of train.html: a folder picked or dropped, or a .zip, listed by label
// with its counts, then decoded in decode.js's worker to the size and colours chosen. Bad input is
// named in one line and never reaches a training; nothing here touches a training in progress.
import { MAX_IMAGES, labelProblem, listDropped, listPicked, listZip } from "./folder.js";

const $ = (id) => document.getElementById(id);
const number = (value) => value.toLocaleString("en-US");

/**
 * What the tests and the page read: the listing's labels and counts, and after decoding the
 * counts that decoded and what was skipped.
 */
export const folderState = { listing: null, labels: [], problem: null, decoded: null, skipped: null, data: null };
let cached = null; // the last decoded data: { key, data }
let callbacks = { listed: () => {}, dropped: () => {} };

function plural(count, word) {
  return `${number(count)} ${word}${count === 1 ? "" : "s"}`;
}

function showTable(rows) {
  $("label-table").hidden = !rows.length;
  $("label-rows").replaceChildren(...rows.map(({ name, count, decoded }) => {
    const row = document.createElement("tr");
    for (const text of [name, number(count), decoded === undefined ? "" : number(decoded)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}

// What the listing leaves out, in one line each: files beside or below the label folders, and a
// folder thinned to fit the tab's memory.
function listingNotes(listing) {
  const notes = [];
  const leftOut = [listing.outside && `${plural(listing.outside, "file")} beside the label folders`,
    listing.nested && `${plural(listing.nested, "file")} in subfolders of a label`].filter(Boolean);
  if (leftOut.length) notes.push(`Left out, as the CLI leaves them out: ${leftOut.join(", ")}.`);
  const kept = listing.labels.reduce((sum, label) => sum + label.items.length, 0);
  if (kept < listing.listed) {
    notes.push(`${number(listing.listed)} images: the page loads ${number(kept)} of them, an even share of each label, ` +
      `to stay within this tab's memory (at most ${number(MAX_IMAGES)}; the CLI trains on all).`);
  }
  return notes;
}

function skippedNote(skipped, total, maxPixels) {
  const examples = (paths) => ` (${paths.slice(0, 2).join(", ")}${paths.length > 2 ? ", …" : ""})`;
  const parts = [];
  if (skipped.notImage.length) parts.push(`${number(skipped.notImage.length)} not an image${examples(skipped.notImage)}`);
  if (skipped.undecodable.length) {
    parts.push(`${number(skipped.undecodable.length)} that this browser cannot decode${examples(skipped.undecodable)}`);
  }
  if (skipped.tooLarge.length) {
    const sizes = skipped.tooLarge.map(({ path, width, height, bytes }) => `${path}: ${width ? `${width} × ${height}` : `${Math.round(bytes / 1e6)} MB`}`);
    parts.push(`${number(skipped.tooLarge.length)} too large to decode in this tab (over ${maxPixels / 1e6} megapixels)${examples(sizes)}`);
  }
  const count = skipped.notImage.length + skipped.undecodable.length + skipped.tooLarge.length;
  return count ? `Skipped ${number(count)} of ${plural(total, "file")}: ${parts.join("; ")}.` : "";
}

function show(listing) {
  Object.assign(folderState, { listing, decoded: null, skipped: null, data: null });
  folderState.labels = listing.labels.map(({ name, items }) => ({ name, count: items.length }));
  folderState.problem = labelProblem(listing.name, folderState.labels);
  cached = null;
  $("folder-name").textContent = `${listing.name}: ${plural(folderState.labels.length, "label")}, ` +
    `${plural(folderState.labels.reduce((sum, label) => sum + label.count, 0), "file")}`;
  $("folder-notes").textContent = listingNotes(listing).join("\n");
  showTable(folderState.labels);
  callbacks.listed(folderState.problem);
}

async function list(reading) {
  try {
    show(await reading);
  } catch (error) {
    Object.assign(folderState, { listing: null, labels: [], problem: error.message, decoded: null, skipped: null, data: null });
    cached = null;
    showTable([]);
    $("folder-name").textContent = "";
    $("folder-notes").textContent = "";
    callbacks.listed(folderState.problem);
  }
}

/**
 * Wires the folder and zip inputs and dropping on the page.
 * @param {{listed: function(string|null), dropped: function()}} handlers `listed(problem)` after
 *   each listing, `problem` the one line that says why it cannot train, or null
 */
export function setUpOwnImages(handlers) {
  callbacks = handlers;
  $("folder-input").addEventListener("change", () => {
    if ($("folder-input").files.length) list(Promise.resolve(listPicked($("folder-input").files)));
    else list(Promise.reject(new Error("the folder picked is empty: it holds no files at all")));
  });
  $("zip-input").addEventListener("change", () => $("zip-input").files[0] && list(listZip($("zip-input").files[0])));
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    document.body.classList.remove("dragging");
    callbacks.dropped();
    list(listDropped(event.dataTransfer)); // reads the entries now: they go when the event ends
  });
}

function decodeInWorker(message, progress) {
  const worker = new Worker(new URL("./decode.js", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      if (data.type === "progress") return progress(data.done, data.total);
      worker.terminate();
      if (data.type === "done") resolve(data);
      else reject(new Error(`your images could not be read: ${data.message}`));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`the worker that reads your images failed: ${event.message ?? "it could not be loaded"}`));
    };
    worker.postMessage(message);
  });
}

/**
 * The listed images, decoded: what a training trains on. Throws an Error of one line when they
 * cannot train (no listing, too few labels or images once the undecodable are skipped).
 * @param {{size: number, channels: number}} shape 28 or 32 pixels a side, 1 (grey) or 3 (colour)
 * @param {function(number, number)} progress images done, of all
 * @returns {Promise<{name: string, images: Uint8Array, labels: Uint8Array, count: number,
 *   imageShape: number[], labelNames: string[]}>}
 */
export async function loadOwnImages({ size, channels }, progress) {
  const listing = folderState.listing;
  if (!listing) throw new Error(folderState.problem ?? "pick a folder of your images, or drop a folder or a .zip on the page");
  if (folderState.problem) throw new Error(folderState.problem);
  const key = `${size}x${channels}`;
  if (cached?.key === key) return (folderState.data = cached.data);
  const items = listing.labels.flatMap(({ items: files }, label) => files.map(({ path, file, entry }) => ({ label, path, file, entry })));
  const result = await decodeInWorker({ items, zip: listing.zip, size, channels }, progress);
  if (folderState.listing !== listing) throw new Error("another folder was picked while this one was read: press Start again");
  const decoded = listing.labels.map(({ name }) => ({ name, count: 0 }));
  for (const label of result.labels) decoded[label].count += 1;
  Object.assign(folderState, { decoded, skipped: result.skipped });
  showTable(folderState.labels.map((label, index) => ({ ...label, decoded: decoded[index].count })));
  $("folder-notes").textContent = [...listingNotes(listing), skippedNote(result.skipped, items.length, result.maxPixels)]
    .filter(Boolean).join("\n");
  const problem = labelProblem(listing.name, decoded, "images that decode");
  if (problem) throw new Error(problem);
  const data = { name: `folder:${listing.name}`, images: result.images, labels: result.labels, count: result.labels.length,
    imageShape: [size, size, channels], labelNames: listing.labels.map(({ name }) => name) };
  cached = { key, data };
  folderState.data = data;
  return data;
}
