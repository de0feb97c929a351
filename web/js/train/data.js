// The training images: web/data/<dataset>/, written by the set-up (python -m export.web_data) from
// the verified idx files. Each file is checked against dataset.json's size and SHA-256 before use.
import { sha256 } from "../bundle.js";

const DATA = new URL("../../data/", import.meta.url);
const FIX = "run the set-up (bash scripts/setup.sh), which writes web/data/ with python -m export.web_data";

async function fetchOk(url, what) {
  let response;
  try {
    response = await fetch(url, { cache: "no-cache" });
  } catch (error) {
    throw new Error(`${what}: cannot fetch ${url.pathname} (${error.message})`);
  }
  if (!response.ok) throw new Error(`${what}: ${url.pathname} answered ${response.status}; ${FIX}`);
  return response;
}

// A file's bytes, read as they arrive so that `progress(loaded)` can move a bar.
async function readWithProgress(response, expected, progress) {
  const reader = response.body.getReader();
  const bytes = new Uint8Array(expected);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > expected) {
      await reader.cancel();
      return null; // longer than the manifest says
    }
    bytes.set(value, loaded);
    loaded += value.length;
    progress(loaded);
  }
  return loaded === expected ? bytes : bytes.subarray(0, loaded);
}

// { images, labels (Uint8Arrays), count, imageShape, labelNames }; `progress(fraction)`.
export async function loadDataset(name, progress = () => {}) {
  const manifestUrl = new URL(`${encodeURIComponent(name)}/dataset.json`, DATA);
  let manifest;
  try {
    manifest = await (await fetchOk(manifestUrl, `data set ${name}`)).json();
  } catch (error) {
    throw error.message.startsWith("data set") ? error : new Error(`data set ${name}: ${manifestUrl.pathname} is not valid JSON; ${FIX}`);
  }
  const files = manifest.files ?? {};
  const total = Object.values(files).reduce((sum, file) => sum + file.bytes, 0);
  const contents = {};
  let before = 0;
  for (const file of ["images.bin", "labels.bin"]) {
    const facts = files[file];
    if (!facts) throw new Error(`data set ${name}: dataset.json lists no ${file}; ${FIX}`);
    const url = new URL(`${encodeURIComponent(name)}/${file}`, DATA);
    const bytes = await readWithProgress(await fetchOk(url, `data set ${name}`), facts.bytes, (loaded) => progress((before + loaded) / total));
    if (!bytes || bytes.length !== facts.bytes) {
      throw new Error(`data set ${name}: ${url.pathname} has ${bytes ? bytes.length : "more than " + facts.bytes} bytes, dataset.json says ${facts.bytes}; ${FIX}`);
    }
    if ((await sha256(bytes)) !== facts.sha256) {
      throw new Error(`data set ${name}: ${url.pathname} does not match its checksum in dataset.json; ${FIX}`);
    }
    contents[file] = bytes;
    before += facts.bytes;
  }
  const pixels = manifest.image_shape.reduce((a, b) => a * b);
  if (contents["images.bin"].length !== manifest.count * pixels || contents["labels.bin"].length !== manifest.count) {
    throw new Error(`data set ${name}: the files do not hold ${manifest.count} images of ${manifest.image_shape.join("x")}; ${FIX}`);
  }
  return { name, images: contents["images.bin"], labels: contents["labels.bin"], count: manifest.count,
    imageShape: manifest.image_shape, labelNames: manifest.label_names };
}
