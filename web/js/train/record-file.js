// A saved record as it lies in IndexedDB, written out whole as JSON, for a damaged save the page
// cannot continue: nothing is checked or mended, so a later version (or a person) can still read
// what was kept. Bytes (ArrayBuffers, typed arrays, Blobs) become base64 with their type, and
// numbers JSON has no word for (NaN, ±Infinity) are written as text.

export const RECORD_FILE_FORMAT = "ganvas-saved-training";

function toBase64(bytes) {
  let text = "";
  for (let start = 0; start < bytes.length; start += 0x8000) text += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  return btoa(text);
}

async function encode(value) {
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  if (value === undefined) return { $undefined: true };
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Blob) return { $type: "Blob", mime: value.type, base64: toBase64(new Uint8Array(await value.arrayBuffer())) };
  if (Object.prototype.toString.call(value) === "[object ArrayBuffer]") return { $type: "ArrayBuffer", base64: toBase64(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value)) {
    return { $type: value.constructor.name, base64: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (value instanceof Date) return { $type: "Date", value: value.toISOString() };
  if (Array.isArray(value)) return Promise.all(value.map(encode));
  const entries = await Promise.all(Object.entries(value).map(async ([name, inner]) => [name, await encode(inner)]));
  return Object.fromEntries(entries);
}

/**
 * The record as JSON text and a file name for it.
 * @param {object} record a saved training, as IndexedDB returns it
 * @returns {Promise<{ text: string, fileName: string }>}
 */
export async function recordFile(record) {
  const text = JSON.stringify({ format: RECORD_FILE_FORMAT, version: 1, record: await encode(record) });
  const name = String(record?.key ?? "training").replace(/[\\/:*?"<>|]+/g, "-");
  return { text, fileName: `ganvas-saved-${name}.json` };
}
