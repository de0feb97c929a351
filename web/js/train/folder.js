// Your own images: what a picked folder, a dropped folder or a .zip holds, as labels and files.
// Each subfolder is a label, as the CLI's `--dataset folder:PATH` reads PATH/<label>/<image>;
// labels are sorted by name, so a label's number is the same here and there. Only names are read
// here, on the page's thread; decode.js reads the images, in a worker.
import { readZipDirectory, ZipError } from "./zip.js";

// More images than this are thinned to an even share per label: decoding takes about 10 ms an
// image on 2 cores, and 20,000 images of 32 x 32 x 3 hold 61 MB, twice that while training.
export const MAX_IMAGES = 20000;
// Each label is a row of the grid, and a label number a byte of the data.
export const MAX_LABELS = 100;
export const MIN_PER_LABEL = 2;

/**
 * @typedef {{path: string, file?: File, entry?: object}} Item  a file, or an entry of `Listing.zip`
 * @typedef {{name: string, labels: Array<{name: string, items: Item[]}>, zip: File|null,
 *   outside: number, nested: number, listed: number}} Listing
 *   `outside`: files beside the label folders; `nested`: files in a label's subfolders (both left
 *   out, as the CLI leaves them out); `listed`: the files in label folders before any thinning
 */

// Hidden files (.DS_Store), macOS's zip droppings (__MACOSX/) and Windows' thumbnails are never
// images: left out without a word, as the CLI leaves hidden files out.
const hidden = (part) => part.startsWith(".") || part === "__MACOSX" || /^(thumbs\.db|desktop\.ini)$/i.test(part);

// Sorted by code point, as Python sorts the CLI's class folders (JavaScript's own order is by
// UTF-16 unit, which puts U+10000 and above before U+E000-U+FFFF).
export function byName(a, b) {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) {
    if (a.charCodeAt(index) !== b.charCodeAt(index)) return a.codePointAt(index) - b.codePointAt(index);
  }
  return a.length - b.length;
}

// The folder the labels are in: down through folders that hold one folder of folders and nothing
// else (a zip of flowers/ holds flowers/<label>/), then into train/ when train/ and test/ are
// the CLI's splits. Returns the folders gone through and the items below them.
function labelRoot(items) {
  const prefix = [];
  let level = items;
  for (;;) {
    const depth = prefix.length;
    const folders = new Map(); // each folder's name: whether it holds folders
    let files = false;
    for (const { parts } of level) {
      if (parts.length === depth + 1) files = true;
      else folders.set(parts[depth], folders.get(parts[depth]) || parts.length > depth + 2);
    }
    const splits = folders.get("train") && folders.get("test");
    const only = !files && folders.size === 1 ? [...folders.keys()][0] : null;
    const next = splits ? "train" : only && folders.get(only) ? only : null;
    if (!next) return { prefix, level };
    prefix.push(next);
    level = level.filter(({ parts }) => parts[depth] === next);
    if (splits) return { prefix, level };
  }
}

// An even share of each label, spread over its sorted files, so that at most `limit` are kept.
function thin(labels, limit) {
  const total = labels.reduce((sum, label) => sum + label.items.length, 0);
  if (total <= limit) return labels;
  let share = Math.floor(limit / labels.length);
  // Labels smaller than the share keep all theirs, and leave the rest to the larger ones.
  for (;;) {
    const kept = labels.reduce((sum, label) => sum + Math.min(share, label.items.length), 0);
    const larger = labels.filter((label) => label.items.length > share).length;
    const more = larger ? Math.floor((limit - kept) / larger) : 0;
    if (more < 1) break;
    share += more;
  }
  return labels.map(({ name, items }) => {
    if (items.length <= share) return { name, items };
    return { name, items: Array.from({ length: share }, (_, index) => items[Math.floor((index * items.length) / share)]) };
  });
}

/**
 * @param {string} name what the user picked (a folder's or a zip's name)
 * @param {Array<{path: string, file?: File, entry?: object}>} files paths relative to it, "/"-separated
 * @param {File|null} zip
 * @returns {Listing}
 */
export function listImages(name, files, zip = null) {
  const items = [];
  for (const { path, file, entry } of files) {
    const parts = path.split("/").filter(Boolean);
    if (parts.length && !parts.some(hidden)) items.push({ path, file, entry, parts });
  }
  const { prefix, level } = labelRoot(items);
  const depth = prefix.length;
  const byLabel = new Map();
  let outside = 0;
  let nested = 0;
  for (const { path, file, entry, parts } of level) {
    if (parts.length === depth + 1) outside += 1;
    else if (parts.length > depth + 2) nested += 1;
    else if (byLabel.has(parts[depth])) byLabel.get(parts[depth]).push({ path, file, entry });
    else byLabel.set(parts[depth], [{ path, file, entry }]);
  }
  const labels = [...byLabel.keys()].sort(byName)
    .map((label) => ({ name: label, items: byLabel.get(label).sort((a, b) => byName(a.path, b.path)) }));
  const listed = labels.reduce((sum, label) => sum + label.items.length, 0);
  // Named after the folder that holds the labels (not its train/ split).
  const folder = [name, ...prefix].filter((part) => part !== "train").at(-1) ?? name;
  return { name: folder, labels: thin(labels, MAX_IMAGES), zip, outside, nested, listed };
}

/** What `<input type=file webkitdirectory>` gives: each file's path begins with the folder picked. */
export function listPicked(fileList) {
  const files = Array.from(fileList, (file) => ({ path: file.webkitRelativePath || file.name, file }));
  const first = files[0]?.path.split("/")[0] ?? "the folder";
  return listImages(first, files.map(({ path, file }) => ({ path: path.split("/").slice(1).join("/"), file })));
}

export async function listZip(file) {
  let entries;
  try {
    entries = await readZipDirectory(file);
  } catch (error) {
    if (error instanceof ZipError) throw new Error(`${file.name} cannot be read: ${error.message}`);
    throw error;
  }
  return listImages(file.name.replace(/\.zip$/i, ""), entries.map((entry) => ({ path: entry.path, entry })), file);
}

// A folder dropped on the page, read through the File and Directory Entries API.
async function readFolder(directory, path, files) {
  const reader = directory.createReader();
  // readEntries answers in batches (100 at a time in Chromium) until it answers none.
  for (;;) {
    const entries = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!entries.length) return files;
    for (const entry of entries) {
      const below = `${path}${entry.name}`;
      if (entry.isDirectory) await readFolder(entry, `${below}/`, files);
      else files.push({ path: below, file: await new Promise((resolve, reject) => entry.file(resolve, reject)) });
    }
  }
}

/**
 * What was dropped: one folder (its subfolders are the labels), several folders (each a label),
 * or one .zip. The entries must be taken during the drop event, so call this from its handler.
 * @param {DataTransfer} transfer
 * @returns {Promise<Listing>}
 */
export async function listDropped(transfer) {
  const entries = Array.from(transfer.items, (item) => item.webkitGetAsEntry?.()).filter(Boolean);
  const files = Array.from(transfer.files);
  const folders = entries.filter((entry) => entry.isDirectory);
  if (!folders.length) {
    const zip = files.find((file) => /\.zip$/i.test(file.name) || file.type.includes("zip"));
    if (zip && files.length === 1) return listZip(zip);
    throw new Error("drop one folder with a subfolder per label, the label folders themselves, or one .zip of them");
  }
  if (folders.length === 1) return listImages(folders[0].name, await readFolder(folders[0], "", []));
  const all = [];
  for (const folder of folders) await readFolder(folder, `${folder.name}/`, all);
  return listImages("dropped folders", all);
}

/**
 * Why these labels cannot train a conditional GAN, in one line, or null when they can.
 * @param {string} name
 * @param {Array<{name: string, count: number}>} counts images per label
 * @param {string} what "images" or "images that decode"
 */
export function labelProblem(name, counts, what = "images") {
  const total = counts.reduce((sum, label) => sum + label.count, 0);
  if (!counts.length || !total) {
    return `${name} holds no ${what} in label folders: put each label's images in a subfolder of its own (${name}/<label>/<image>)`;
  }
  if (counts.length === 1) {
    return `${name} has one label only (${counts[0].name}): a conditional GAN learns two or more; add a subfolder per label`;
  }
  if (counts.length > MAX_LABELS) return `${name} has ${counts.length} labels: the page trains at most ${MAX_LABELS}`;
  const few = counts.filter((label) => label.count < MIN_PER_LABEL);
  if (few.length) {
    const named = few.slice(0, 3).map((label) => `${label.name} (${label.count})`).join(", ");
    return `${few.length === 1 ? "a label has" : `${few.length} labels have`} fewer than ${MIN_PER_LABEL} ${what}: ${named}` +
      `${few.length > 3 ? ", …" : ""}; add images or remove ${few.length === 1 ? "it" : "them"}`;
  }
  return null;
}
