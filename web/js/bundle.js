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
  const { generator } = bundle;
  const bytes = fromBase64(generator.weights);
  if (bytes.length !== generator.bytes || (await sha256(bytes)) !== generator.sha256) {
    throw new Error(`${fileName} is damaged: its weights do not match their size and checksum`);
  }
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: generator.modelTopology, weightSpecs: generator.weightSpecs, weightData: bytes.buffer }));
  return { manifest: bundle.manifest, generator: asGraphModel(model) };
}

// The exported graph models are run as `execute({ latent, label })`; a layers model takes a list.
export function asGraphModel(model) {
  return {
    execute: (feeds) => model.predict(model.inputNames.map((name) => feeds[name])),
    dispose: () => model.dispose(),
  };
}
