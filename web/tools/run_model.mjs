// Runs a TF.js graph model from disk on given inputs, with the pure-JS CPU backend: the same
// library the page uses, so the exporter can check a conversion before it ships.
//   node web/tools/run_model.mjs MODEL_DIR INPUTS.json OUTPUT.json
// INPUTS.json: {"name": {"shape": [...], "data": [...]}, ...}; OUTPUT.json: {"shape", "data"}.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";

const [modelDir, inputsPath, outputPath] = process.argv.slice(2);
const artifacts = JSON.parse(await readFile(path.join(modelDir, "model.json"), "utf8"));
const weightSpecs = artifacts.weightsManifest.flatMap((group) => group.weights);
const shards = [];
for (const group of artifacts.weightsManifest) {
  for (const file of group.paths) shards.push(await readFile(path.join(modelDir, file)));
}
const weights = Buffer.concat(shards);
const handler = {
  load: async () => ({
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    signature: artifacts.signature,
    userDefinedMetadata: artifacts.userDefinedMetadata,
    weightSpecs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }),
};

tf.enableProdMode(); // no "install tfjs-node" advice in front of the errors the exporter reports
await tf.setBackend("cpu");
const model = await tf.loadGraphModel(handler);
const inputs = JSON.parse(await readFile(inputsPath, "utf8"));
const feeds = Object.fromEntries(
  Object.entries(inputs).map(([name, value]) => [name, tf.tensor(value.data, value.shape, "float32")]),
);
const output = model.execute(feeds);
await writeFile(outputPath, JSON.stringify({ shape: output.shape, data: Array.from(await output.data()) }));
