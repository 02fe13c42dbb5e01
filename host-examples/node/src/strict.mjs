// Reading input exactly as strictly as the Rust host does.
//
// JSON as serde_json reads it for a typed value: strict UTF-8 (no
// byte-order mark), an object naming a member twice refused, no lone
// surrogates, at most 128 levels deep; a number written with a fraction or
// an exponent, or `-0`, is a JsonFloat, never a whole number. Objects have
// no prototype, so a member named `__proto__` is data like any other.
// Instants as the Rust host's `humantime` reads them (parse_rfc3339_weak),
// byte for byte: anything another reader would take differently is refused.

export const MAX_DEPTH = 128;

/** A JSON number written as a float: never accepted where a whole number is. */
export class JsonFloat {
  constructor(value) {
    this.value = value;
  }
}

const fail = (why, pos) => {
  throw new SyntaxError(`not JSON: ${why} at character ${pos}`);
};

/** JSON text (a string, or bytes that must be UTF-8) read strictly. */
export function parseJson(input) {
  const text = typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input);
  let pos = 0;
  const ws = () => {
    while (pos < text.length && " \t\n\r".includes(text[pos])) pos++;
  };
  const value = (depth) => {
    ws();
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (depth >= MAX_DEPTH) fail(`nested more than ${MAX_DEPTH} levels deep`, pos);
      return c === "{" ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"') return string();
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]])
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    return fail("unexpected input", pos);
  };
  const object = (depth) => {
    const out = Object.create(null);
    pos++;
    ws();
    if (text[pos] === "}") {
      pos++;
      return out;
    }
    for (;;) {
      ws();
      if (text[pos] !== '"') fail("expected a member name", pos);
      const at = pos;
      const key = string();
      if (Object.hasOwn(out, key)) fail(`duplicate field \`${key}\``, at);
      ws();
      if (text[pos++] !== ":") fail("expected `:`", pos - 1);
      out[key] = value(depth);
      ws();
      const next = text[pos++];
      if (next === "}") return out;
      if (next !== ",") fail("expected `,` or `}`", pos - 1);
    }
  };
  const array = (depth) => {
    const out = [];
    pos++;
    ws();
    if (text[pos] === "]") {
      pos++;
      return out;
    }
    for (;;) {
      out.push(value(depth));
      ws();
      const next = text[pos++];
      if (next === "]") return out;
      if (next !== ",") fail("expected `,` or `]`", pos - 1);
    }
  };
  const string = () => {
    let out = "";
    pos++;
    for (;;) {
      if (pos >= text.length) fail("unterminated string", pos);
      const c = text[pos++];
      if (c === '"') break;
      if (c < " ") fail("a control character in a string", pos - 1);
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text[pos++];
      const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }[e];
      if (simple !== undefined) {
        out += simple;
        continue;
      }
      if (e !== "u" || !/^[0-9a-fA-F]{4}$/.test(text.slice(pos, pos + 4))) fail("a bad escape", pos - 1);
      out += String.fromCharCode(parseInt(text.slice(pos, pos + 4), 16));
      pos += 4;
    }
    if (!out.isWellFormed()) fail("a lone surrogate in a string", pos);
    return out;
  };
  const number = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(pos, pos + 400));
    if (!m) fail("a bad number", pos);
    pos += m[0].length;
    if (m[2] !== undefined || m[3] !== undefined || m[0] === "-0") return new JsonFloat(Number(m[0]));
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  };
  const result = value(0);
  ws();
  if (pos !== text.length) fail("trailing characters", pos);
  return result;
}

const MAX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z, humantime's limit

/** An RFC 3339 instant as the Rust host reads it, in milliseconds since the epoch. */
export function parseInstant(text, { roundUp = false } = {}) {
  if (typeof text !== "string") throw new Error(`\`${String(text)}\` is not an RFC 3339 instant (not a string)`);
  const b = Buffer.from(text, "utf8");
  const bad = (why) => new Error(`\`${text}\` is not an RFC 3339 instant: ${why}`);
  if (b.length < 19) throw bad("too short");
  const ch = (i) => String.fromCharCode(b[i]);
  if (ch(4) !== "-" || ch(7) !== "-" || (ch(10) !== "T" && ch(10) !== " ") || ch(13) !== ":" || ch(16) !== ":") throw bad("not YYYY-MM-DDTHH:MM:SS");
  const digit = (i) => {
    if (b[i] < 48 || b[i] > 57) throw bad("not a digit");
    return b[i] - 48;
  };
  const two = (i) => digit(i) * 10 + digit(i + 1);
  const year = two(0) * 100 + two(2);
  const [month, day, hour, minute] = [two(5), two(8), two(11), two(14)];
  let second = two(17);
  if (year < 1970 || hour > 23 || minute > 59 || second > 60) throw bad("out of range");
  second = Math.min(second, 59);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysIn = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (month < 1 || month > 12 || day < 1 || day > daysIn[month - 1]) throw bad("out of range");
  let nanos = 0;
  let mult = 100_000_000;
  if (ch(19) === ".") {
    for (let idx = 20; idx < b.length; idx++) {
      if (ch(idx) === "Z") {
        if (idx === b.length - 1) break;
        throw bad("bad fraction");
      }
      if (ch(idx) === "+") {
        if (idx === b.length - 6) break;
        throw bad("bad fraction");
      }
      nanos += mult * digit(idx);
      mult = Math.floor(mult / 10);
    }
  } else if (b.length !== 19 && (b.length > 25 || (ch(19) !== "Z" && b.subarray(19).toString("latin1") !== "+00:00"))) {
    throw bad("only `Z` or `+00:00` may follow the seconds");
  }
  let ydays = day - 1;
  for (let m = 0; m < month - 1; m++) ydays += daysIn[m];
  const y = year - 1;
  const leapYears = Math.floor((y - 1968) / 4) - Math.floor((y - 1900) / 100) + Math.floor((y - 1600) / 400);
  const seconds = second + minute * 60 + hour * 3600 + ((year - 1970) * 365 + leapYears + ydays) * 86400;
  if (seconds > MAX_SECONDS) throw bad("out of range");
  // Milliseconds: the rest cut, or with roundUp (the start of a window, so
  // it never opens early) carried up.
  return seconds * 1000 + (roundUp ? Math.ceil(nanos / 1_000_000) : Math.floor(nanos / 1_000_000));
}
