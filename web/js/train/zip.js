// A minimal .zip reader: the central directory (names, sizes, where each entry lies) and one
// entry's bytes, inflated by the browser's own DecompressionStream("deflate-raw"). No library:
// the page fetches nothing at run time, and stored and deflated entries are all a zip of images
// holds in practice. Zip64 archives (over 65,535 entries or 4 GB) are read too.

const END = 0x06054b50; // end of central directory
const END64_LOCATOR = 0x07064b50;
const END64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const END_SEARCH = 22 + 0xffff; // the end record, and a comment of at most 64 KB
const UTF8_FLAG = 0x800;
const WINDOW_BYTES = 8 * 2 ** 20;
const ENCRYPTED_FLAG = 0x1;

// The upper half of code page 437, what zip tools without the UTF-8 flag write names in.
const CP437 = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧" +
  "╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

export class ZipError extends Error {}

async function bytesAt(blob, start, length) {
  return new DataView(await blob.slice(start, start + length).arrayBuffer());
}

function decodeName(bytes, flags) {
  if (flags & UTF8_FLAG) return new TextDecoder().decode(bytes);
  // Many tools (macOS's among them) write UTF-8 without saying so; what is not UTF-8 is CP437.
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return Array.from(bytes, (byte) => (byte < 128 ? String.fromCharCode(byte) : CP437[byte - 128])).join("");
  }
}

// { entries, offset }: where the central directory starts and how many entries it lists.
async function findDirectory(file) {
  const tailStart = Math.max(0, file.size - END_SEARCH);
  const tail = await bytesAt(file, tailStart, file.size - tailStart);
  let at = tail.byteLength - 22;
  while (at >= 0 && tail.getUint32(at, true) !== END) at -= 1;
  if (at < 0) throw new ZipError("it is not a .zip file (no central directory)");
  let entries = tail.getUint16(at + 10, true);
  let offset = tail.getUint32(at + 16, true);
  if (entries === 0xffff || offset === 0xffffffff) {
    const locatorAt = tailStart + at - 20;
    const locator = locatorAt >= 0 ? await bytesAt(file, locatorAt, 20) : null;
    if (!locator || locator.getUint32(0, true) !== END64_LOCATOR) throw new ZipError("its Zip64 directory is missing");
    const record = await bytesAt(file, Number(locator.getBigUint64(8, true)), 56);
    if (record.getUint32(0, true) !== END64) throw new ZipError("its Zip64 directory is damaged");
    entries = Number(record.getBigUint64(32, true));
    offset = Number(record.getBigUint64(48, true));
  }
  return { entries, offset, end: tailStart + at };
}

// Zip64's extra field holds the sizes and offset whose 32-bit fields say 0xffffffff, in order.
function zip64Values(view, extraAt, extraLength, wanted) {
  for (let at = extraAt; at + 4 <= extraAt + extraLength;) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (id === 0x0001) {
      let field = at + 4;
      const values = {};
      for (const name of wanted) {
        values[name] = Number(view.getBigUint64(field, true));
        field += 8;
      }
      return values;
    }
    at += 4 + size;
  }
  throw new ZipError("an entry's Zip64 sizes are missing");
}

/**
 * The archive's files (folders left out).
 * @param {Blob} file the .zip
 * @returns {Promise<Array<{path: string, method: number, encrypted: boolean, compressedSize: number,
 *   size: number, headerOffset: number}>>}
 */
export async function readZipDirectory(file) {
  const { entries, offset, end } = await findDirectory(file);
  const view = await bytesAt(file, offset, end - offset);
  const files = [];
  let at = 0;
  for (let index = 0; index < entries; index += 1) {
    if (at + 46 > view.byteLength || view.getUint32(at, true) !== CENTRAL) throw new ZipError("its central directory is damaged");
    const flags = view.getUint16(at + 8, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const entry = { method: view.getUint16(at + 10, true), encrypted: Boolean(flags & ENCRYPTED_FLAG),
      compressedSize: view.getUint32(at + 20, true), size: view.getUint32(at + 24, true), headerOffset: view.getUint32(at + 42, true) };
    const wanted = ["size", "compressedSize", "headerOffset"].filter((name) => entry[name] === 0xffffffff);
    if (wanted.length) Object.assign(entry, zip64Values(view, at + 46 + nameLength, extraLength, wanted));
    entry.path = decodeName(new Uint8Array(view.buffer, view.byteOffset + at + 46, nameLength), flags);
    if (!entry.path.endsWith("/")) files.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/**
 * Reads entries' bytes, unpacked. Parts of the archive are read WINDOW_BYTES at a time: each read
 * of a File is a round trip to the browser's process, which for 20,000 small images would take
 * longer than decoding them. Entries asked for in the order they lie in are read once.
 * @param {Blob} file the .zip
 * @returns {function({method: number, encrypted: boolean, compressedSize: number, headerOffset: number}): Promise<Uint8Array>}
 */
export function zipReader(file) {
  let window = { start: 0, end: 0, bytes: Promise.resolve(new Uint8Array(0)) };
  const read = async (start, end) => {
    if (start < window.start || end > window.end) {
      const stop = Math.min(file.size, start + Math.max(WINDOW_BYTES, end - start));
      window = { start, end: stop, bytes: file.slice(start, stop).arrayBuffer().then((buffer) => new Uint8Array(buffer)) };
    }
    const { start: base, bytes } = window; // taken now: another entry may move the window meanwhile
    return (await bytes).subarray(start - base, end - base);
  };
  return async (entry) => {
    if (entry.encrypted) throw new ZipError("it is encrypted");
    if (entry.method !== 0 && entry.method !== 8) throw new ZipError(`it is packed with method ${entry.method}, not stored or deflated`);
    const header = await read(entry.headerOffset, entry.headerOffset + 30);
    const local = new DataView(header.buffer, header.byteOffset, header.byteLength);
    if (local.byteLength < 30 || local.getUint32(0, true) !== LOCAL) throw new ZipError("its local header is damaged");
    // The local header's name and extra field may differ in length from the central directory's.
    const start = entry.headerOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
    const packed = await read(start, start + entry.compressedSize);
    if (packed.length !== entry.compressedSize) throw new ZipError("it is cut short");
    if (entry.method === 0) return packed.slice();
    return new Uint8Array(await new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).arrayBuffer());
  };
}
