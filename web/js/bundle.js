// A generator trained in the browser as one file: the manifest an export writes (manifest.json's
// fields) and the TF.js layers model with its weights, checked by size and SHA-256 when opened.
// index.html opens it like an exported model; web/train.html writes it.

export const BUNDLE_FORMAT = "ganvas-model";

export async function sha256(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function toBase64(bytes) {
  let text = "";
  for (let start = 0; start < bytes.length; start += 0x8000) text += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  return btoa(text);
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (character) => character.charCodeAt(0));
}

// The layers model's topology, weight specs and weights as one ArrayBuffer.
export async function modelArtifacts(model) {
  let artifacts;
  await model.save(tf.io.withSaveHandler(async (saved) => {
    artifacts = saved;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  const weightData = Array.isArray(artifacts.weightData) ? tf.io.concatenateArrayBuffers(artifacts.weightData) : artifacts.weightData;
  return { modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData };
}

export async function writeBundle(manifest, artifacts) {
  const bytes = new Uint8Array(artifacts.weightData);
  const generator = { format: "layers-model", modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs,
    bytes: bytes.length, sha256: await sha256(bytes), weights: toBase64(bytes) };
  return JSON.stringify({ format: BUNDLE_FORMAT, version: 1, manifest, generator });
}

// A file's text as { manifest, generator }, the generator answering `execute(feeds)` by input name
// as the exported graph models do; an Error that names the file for anything else.
export async function readBundle(text, fileName) {
  let bundle;
  try {
    bundle = JSON.parse(text);
  } catch (error) {
    throw new Error(`${fileName} is not a Ganvas model file (${error.message})`);
  }
  if (bundle?.format !== BUNDLE_FORMAT || !bundle.manifest || !bundle.generator?.weights) {
    throw new Error(`${fileName} is not a Ganvas model file: save one from train.html's Download button`);
  }
  const { generator, manifest } = bundle;
  const problem = manifestProblem(manifest);
  if (problem) throw new Error(`${fileName} is damaged: its manifest ${problem}`);
  const bytes = fromBase64(generator.weights);
  if (bytes.length !== generator.bytes || (await sha256(bytes)) !== generator.sha256) {
    throw new Error(`${fileName} is damaged: its weights do not match their size and checksum`);
  }
  let model;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: generator.modelTopology, weightSpecs: generator.weightSpecs, weightData: bytes.buffer }));
    checkOutput(model, manifest);
  } catch (error) {
    model?.dispose();
    throw new Error(`${fileName} is damaged: its generator does not load or run (${firstLine(error.message)})`);
  }
  return { manifest, generator: asGraphModel(model) };
}

function firstLine(text) {
  return String(text).split("\n")[0].slice(0, 200);
}

/**
 * What is wrong with a bundle's manifest for the sampler, or null: every field drawing needs.
 * @param {object} manifest
 * @returns {string | null}
 */
export function manifestProblem(manifest) {
  const positive = (value) => Number.isInteger(value) && value > 0;
  if (!manifest || typeof manifest !== "object") return "is missing";
  if (!positive(manifest.latent_dim)) return "has no latent_dim";
  if (!Array.isArray(manifest.image_shape) || manifest.image_shape.length !== 3 || !manifest.image_shape.every(positive)) {
    return "has no image_shape of three sizes";
  }
  const range = manifest.output_range;
  if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite) || !(range[0] < range[1])) {
    return "has no output_range";
  }
  const names = manifest.label_names;
  if (manifest.conditional && !(Array.isArray(names) && names.length > 0 && names.every((name) => typeof name === "string"))) {
    return "has no label_names";
  }
  return null;
}

/**
 * A trial draw of one sample: the model must take the manifest's inputs and give its image shape,
 * before it replaces the model in use.
 * @param {tf.LayersModel} model
 * @param {object} manifest
 */
function checkOutput(model, manifest) {
  tf.tidy(() => {
    const feeds = { latent: tf.zeros([1, manifest.latent_dim]) };
    if (manifest.conditional) feeds.label = tf.oneHot([0], manifest.label_names.length).toFloat();
    const shape = asGraphModel(model).execute(feeds).shape;
    const expected = [1, ...manifest.image_shape];
    if (shape.join() !== expected.join()) throw new Error(`it draws ${shape.slice(1).join("x")}, its manifest says ${manifest.image_shape.join("x")}`);
  });
}

// The exported graph models are run as `execute({ latent, label })`; a layers model takes a list.
export function asGraphModel(model) {
  return {
    execute: (feeds) => model.predict(model.inputNames.map((name) => feeds[name])),
    dispose: () => model.dispose(),
  };
}
