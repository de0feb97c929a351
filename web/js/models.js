// Loading exported models: the list (models/index.json), a manifest, and TF.js graph models whose
// weight files are checked against the manifest's sizes and SHA-256 before they are used.

import { manifestProblem, sha256 } from "./bundle.js";

export class PageError extends Error {}

/**
 * Switches TF.js to the backend `name`; one that fails to start leaves `previous` in use (TF.js
 * would otherwise pick a backend of its own on the next operation) and the menu showing it.
 * Leaving WebGPU, the models' weights are first read back asynchronously: TF.js moves a tensor to
 * the new backend with a synchronous read, which WebGPU does through canvases, slowly, and which
 * returns zeros where Chromium has no GPU process (SwiftShader's WebGPU under --disable-gpu).
 * @param {string} name "wasm", "webgl", "cpu" or "webgpu" (offered where it starts: webgpu.js)
 * @param {?string} previous the backend in use, null before the first
 * @param {HTMLSelectElement} menu the page's backend menu, left showing the backend in use
 * @param {Array<?tf.GraphModel>} models the models in use, whose weights move to the new backend
 * @returns {Promise<string>} `name`, once it is ready
 */
export async function switchBackend(name, previous, menu, models = []) {
  if (previous === "webgpu" && name !== previous) {
    await Promise.all(models.filter(Boolean).flatMap((model) => Object.values(model.weights).flat()).map((weight) => weight.data()));
  }
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
  // Valid JSON of another shape (null, entries without a name) would fail later as a bare TypeError.
  const entries = index?.models;
  const named = Array.isArray(entries) && entries.every((entry) => typeof entry?.name === "string");
  if (typeof index !== "object" || index === null || (entries !== undefined && !named)) {
    throw new PageError("model list: models/index.json is damaged: its models are not a list of named models; " +
      "export a model again with `python -m export` to rewrite it");
  }
  if (allowEmpty && Array.isArray(index.models)) return index.models;
  if (!Array.isArray(index.models) || index.models.length === 0) {
    throw new PageError("models/index.json lists no models: export one with `python -m export`");
  }
  return index.models;
}

/**
 * Whether a model of the list colours grey photos (an image-conditioned family such as `--model
 * colorize`, exported with one input, `grey`) rather than drawing samples from noise and labels:
 * the sampler has nothing to give it. An index written before it listed inputs names the family.
 * @param {{model: string, inputs?: string[]}} entry a model as models/index.json lists it
 * @returns {boolean}
 */
export function isColorizer(entry) {
  return Array.isArray(entry.inputs) ? entry.inputs.includes("grey") : entry.model === "colorize";
}

// What is wrong with an exported model's manifest, or null: every field the pages read is checked
// here, before the model replaces the one in use, so a damaged manifest is named in one line
// rather than failing as a TypeError half-way through switching models.
function exportProblem(manifest) {
  if (!manifest || typeof manifest !== "object" || Array.isArray(manifest)) return "is not a manifest";
  const weightsProblem = (part) => {
    const weights = manifest[part]?.weights;
    const good = weights && typeof weights === "object" && Object.keys(weights).length > 0 &&
      Object.values(weights).every((facts) => Number.isInteger(facts?.bytes) && typeof facts.sha256 === "string");
    return good ? null : `has no list of ${part} weights with their sizes and checksums`;
  };
  const names = manifest.label_names;
  if (!(Array.isArray(names) && names.every((label) => typeof label === "string"))) return "has no label_names";
  if (isColorizer(manifest)) {
    const shape = manifest.image_shape;
    if (!(Array.isArray(shape) && shape.length === 3 && shape.every((size) => Number.isInteger(size) && size > 0))) {
      return "has no image_shape of three sizes";
    }
    const range = manifest.output_range;
    if (!(Array.isArray(range) && range.length === 2 && range.every(Number.isFinite) && range[0] < range[1])) {
      return "has no output_range";
    }
    if (!(Array.isArray(manifest.inputs) && typeof manifest.inputs[0] === "string")) return "has no inputs";
  } else {
    const problem = manifestProblem(manifest);
    if (problem) return problem;
  }
  return weightsProblem("generator") ?? (manifest.classifier ? weightsProblem("classifier") : null);
}

export async function loadManifest(name) {
  const url = new URL(`${encodeURIComponent(name)}/manifest.json`, MODELS);
  const manifest = await fetchJson(url, `model ${name}`);
  const problem = exportProblem(manifest);
  if (problem) throw new PageError(`model ${name}: ${relative(url)} is damaged: it ${problem}`);
  // A model is known by its folder (as index.json lists it), even a copied or renamed one.
  return { ...manifest, name };
}

// A graph model from `models/NAME/PART/`, its weights verified against `expected` (the manifest).
export async function loadGraphModel(name, part, expected) {
  const base = new URL(`${encodeURIComponent(name)}/${part}/`, MODELS);
  const artifacts = await fetchJson(new URL("model.json", base), `${part} of ${name}`);
  const groups = artifacts?.weightsManifest;
  if (!artifacts?.modelTopology || !Array.isArray(groups) ||
    !groups.every((group) => Array.isArray(group?.paths) && Array.isArray(group.weights))) {
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
