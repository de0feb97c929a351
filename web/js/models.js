// Loading exported models: the list (models/index.json), a manifest, and TF.js graph models whose
// weight files are checked against the manifest's sizes and SHA-256 before they are used.

import { sha256 } from "./bundle.js";

export class PageError extends Error {}

/**
 * Switches TF.js to the backend `name`; one that fails to start leaves `previous` in use (TF.js
 * would otherwise pick a backend of its own on the next operation) and the menu showing it.
 * @param {string} name "wasm", "webgl" or "cpu"
 * @param {?string} previous the backend in use, null before the first
 * @param {HTMLSelectElement} menu the page's backend menu, left showing the backend in use
 * @returns {Promise<string>} `name`, once it is ready
 */
export async function switchBackend(name, previous, menu) {
  if (name === "wasm") tf.wasm.setWasmPaths("vendor/");
  let ready = false;
  try {
    ready = await tf.setBackend(name);
  } catch (error) {
    ready = false;
  }
  if (!ready) {
    if (previous) await tf.setBackend(previous);
    menu.value = previous ?? "";
    throw new PageError(`the ${name} backend failed to start in this browser; choose another`);
  }
  await tf.ready();
  menu.value = name;
  return name;
}

// Resolved from this module, so that the pages and the training page's worker find the same files.
const MODELS = new URL("../models/", import.meta.url);

// A URL as the user knows it from the web/ folder: models/NAME/manifest.json.
function relative(url) {
  return url.href.slice(new URL("../", MODELS).href.length);
}

async function fetchOk(url, what) {
  let response;
  try {
    // Revalidated every time: a model exported again under the same name, or a new model list,
    // must not be served from a browser cache that python -m http.server's headers allow.
    response = await fetch(url, { cache: "no-cache" });
  } catch (error) {
    throw new PageError(`${what}: cannot fetch ${relative(url)} (${error.message})`);
  }
  if (!response.ok) throw new PageError(`${what}: ${relative(url)} answered ${response.status}`);
  return response;
}

async function fetchJson(url, what) {
  const response = await fetchOk(url, what);
  try {
    return await response.json();
  } catch (error) {
    throw new PageError(`${what}: ${relative(url)} is not valid JSON (${error.message})`);
  }
}

/**
 * The models that models/index.json lists.
 * @param {{allowEmpty?: boolean}} options allowEmpty: an empty list is returned, not refused (the
 *   colorize page says how to make a colorizer instead)
 * @returns {Promise<Array<{name: string, dataset: string, model: string}>>}
 */
export async function loadIndex({ allowEmpty = false } = {}) {
  const index = await fetchJson(new URL("index.json", MODELS), "model list");
  if (allowEmpty && Array.isArray(index.models)) return index.models;
  if (!Array.isArray(index.models) || index.models.length === 0) {
    throw new PageError("models/index.json lists no models: export one with `python -m export`");
  }
  return index.models;
}

/**
 * Whether a model of the list colours grey photos (`--model colorize`, exported with one input,
 * `grey`) rather than drawing samples from noise and labels: the sampler has nothing to give it.
 * @param {{model: string}} entry a model as models/index.json lists it
 * @returns {boolean}
 */
export function isColorizer(entry) {
  return entry.model === "colorize";
}

export async function loadManifest(name) {
  const manifest = await fetchJson(new URL(`${encodeURIComponent(name)}/manifest.json`, MODELS), `model ${name}`);
  // A model is known by its folder (as index.json lists it), even a copied or renamed one.
  return { ...manifest, name };
}

// A graph model from `models/NAME/PART/`, its weights verified against `expected` (the manifest).
export async function loadGraphModel(name, part, expected) {
  const base = new URL(`${encodeURIComponent(name)}/${part}/`, MODELS);
  const artifacts = await fetchJson(new URL("model.json", base), `${part} of ${name}`);
  if (!artifacts.modelTopology || !Array.isArray(artifacts.weightsManifest)) {
    throw new PageError(`${part} of ${name}: ${relative(base)}model.json is not a TF.js graph model`);
  }
  const shards = [];
  for (const group of artifacts.weightsManifest) {
    for (const file of group.paths) {
      const buffer = await (await fetchOk(new URL(file, base), `${part} of ${name}`)).arrayBuffer();
      const facts = expected[file];
      if (!facts) throw new PageError(`${part} of ${name}: ${file} is not in the manifest`);
      if (buffer.byteLength !== facts.bytes) {
        throw new PageError(`${part} of ${name}: ${file} has ${buffer.byteLength} bytes, the manifest says ${facts.bytes}`);
      }
      if ((await sha256(buffer)) !== facts.sha256) {
        throw new PageError(`${part} of ${name}: ${file} does not match its checksum in the manifest`);
      }
      shards.push(new Uint8Array(buffer));
    }
  }
  const weightData = new Uint8Array(shards.reduce((total, shard) => total + shard.length, 0));
  let offset = 0;
  for (const shard of shards) {
    weightData.set(shard, offset);
    offset += shard.length;
  }
  const handler = {
    load: async () => ({
      ...artifacts,
      weightSpecs: artifacts.weightsManifest.flatMap((group) => group.weights),
      weightData: weightData.buffer,
    }),
  };
  try {
    return await tf.loadGraphModel(handler);
  } catch (error) {
    throw new PageError(`${part} of ${name}: TF.js cannot load it (${error.message})`);
  }
}
