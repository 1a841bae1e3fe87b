/**
 * lz-string's `decompressFromEncodedURIComponent`, with a cap on the output. A share link is untrusted: its
 * dictionary codes can each repeat everything decoded so far, so a fragment of a few hundred kilobytes can expand
 * quadratically to gigabytes before any check on the result could run. Here decoding stops as soon as the output
 * passes `maxChars`, and since every dictionary entry is made from output already counted, memory stays within a
 * small multiple of the cap. Same algorithm and results as lz-string 1.5 (tests compare the two).
 */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-$";
const VALUE = new Map([...ALPHABET].map((ch, i) => [ch, i]));

/** The text, `null` when the input is not lz-string, or `undefined` when the text would exceed `maxChars`. */
export function decompressLinkText(encoded: string, maxChars: number): string | null | undefined {
  if (encoded === "") return null;
  const input = encoded.replace(/ /g, "+");
  const length = input.length;
  let val = VALUE.get(input.charAt(0)) ?? 0;
  let position = 32;
  let index = 1;
  const read = (width: number): number => {
    let bits = 0;
    for (let power = 1; power !== 1 << width; power <<= 1) {
      const bit = val & position;
      position >>= 1;
      if (position === 0) {
        position = 32;
        val = VALUE.get(input.charAt(index++)) ?? 0;
      }
      if (bit > 0) bits |= power;
    }
    return bits;
  };
  const dictionary: string[] = [];
  let enlargeIn = 4;
  let dictSize = 4;
  let numBits = 3;
  const first = read(2);
  if (first === 2) return "";
  const c = String.fromCharCode(read(first === 0 ? 8 : 16));
  dictionary[3] = c;
  let w = c;
  const result = [c];
  let total = 1;
  for (;;) {
    if (index > length) return "";
    let code = read(numBits);
    if (code === 0 || code === 1) {
      dictionary[dictSize++] = String.fromCharCode(read(code === 0 ? 8 : 16));
      code = dictSize - 1;
      enlargeIn--;
    } else if (code === 2) return result.join("");
    if (enlargeIn === 0) {
      enlargeIn = 2 ** numBits;
      numBits++;
    }
    let entry: string;
    if (dictionary[code] !== undefined) entry = dictionary[code]!;
    else if (code === dictSize) entry = w + w.charAt(0);
    else return null;
    total += entry.length;
    if (total > maxChars) return undefined;
    result.push(entry);
    dictionary[dictSize++] = w + entry.charAt(0);
    enlargeIn--;
    w = entry;
    if (enlargeIn === 0) {
      enlargeIn = 2 ** numBits;
      numBits++;
    }
  }
}
