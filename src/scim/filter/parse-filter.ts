/**
 * Parser for the SCIM filter language, RFC 7644 §3.4.2.2 (ABNF in Figure 1):
 *
 *   FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
 *   valuePath = attrPath "[" valFilter "]"
 *   valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
 *   attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
 *   logExp    = FILTER SP ("and" / "or") SP FILTER
 *   compValue = false / null / true / number / string      ; JSON, RFC 7159
 *   compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
 *   attrPath  = [URI ":"] ATTRNAME *1subAttr
 *
 * plus "(" FILTER ")" grouping, with precedence grouping > attribute operators > not > and > or (§3.4.2.2).
 * Keywords and attribute names are case-insensitive (§3.4.2.2: `userName Eq "john"` = `Username eq "john"`).
 *
 * Deliberate leniencies, each harmless because it cannot change the meaning of a well-formed filter:
 * - any run of whitespace where the ABNF says SP;
 * - `not` directly before an attribute expression (`not title pr`), not only before "(";
 * - `attr[valFilter].subAttr op value` (Microsoft Entra matches users with
 *   `emails[type eq "work"].value eq "…"`, idp-behaviour.md M1). It is not in the filter ABNF (only in
 *   PATCH paths, §3.5.2), and is read as "one element satisfies both", i.e.
 *   `emails[type eq "work" and value eq "…"]`;
 * - a bare, unquoted word as a string value (`externalId eq jyoung`, as printed in Microsoft's SCIM tutorial,
 *   M1); numbers, true/false/null and keywords keep their JSON/keyword meaning.
 *
 * Hostile input: the length is capped before anything else, the tokenizer is a single linear pass, chains of
 * and/or are built by loops, and every nesting construct ("(", "not", "[") is counted against `maxDepth`
 * before recursing — the recursion depth is bounded, so neither hangs nor stack overflows are possible.
 */
import type { AttrPath, CompareOp, FilterNode, FilterValue } from './ast.js';
import { quote, ScimFilterError, type ScimFilterErrorType } from './errors.js';

export { ScimFilterError, type ScimFilterErrorType } from './errors.js';

export interface FilterLimits {
  /** Maximum filter length in characters. Default 4096. */
  maxLength?: number;
  /** Maximum nesting of "(", "not" and "[" . Default 20; values above 200 are clamped to 200. */
  maxDepth?: number;
}

export const DEFAULT_MAX_FILTER_LENGTH = 4096;
export const DEFAULT_MAX_FILTER_DEPTH = 20;
/** Hard ceiling so that a caller-supplied limit can never make the recursive descent overflow the stack. */
const MAX_DEPTH_CEILING = 200;

export const COMPARE_OPS: readonly CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const COMPARE_OP_SET: ReadonlySet<string> = new Set(COMPARE_OPS);
/** Words that can never be a bare (unquoted) value. */
const KEYWORDS: ReadonlySet<string> = new Set([...COMPARE_OPS, 'pr', 'and', 'or', 'not']);

/** RFC 7644 ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA; plus `$ref` (RFC 7643 §2.3.7). */
const ATTR_NAME_RE = /^[A-Za-z$][A-Za-z0-9_$-]*$/;
/** JSON number (RFC 8259 §6). */
const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

// ---------------------------------------------------------------------------------------------- tokenizer

type Token =
  | { type: '(' | ')' | '[' | ']' | 'eof'; start: number; end: number }
  | { type: 'string'; start: number; end: number; value: string }
  | { type: 'word'; start: number; end: number; text: string };

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isDelimiter = (c: string) => c === '(' || c === ')' || c === '[' || c === ']' || c === '"';

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = input.length;
  while (i < n) {
    const c = input[i];
    if (isSpace(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ type: c, start: i, end: i + 1 });
      i++;
    } else if (c === '"') {
      const { value, end } = readJsonString(input, i);
      tokens.push({ type: 'string', start: i, end, value });
      i = end;
    } else {
      const start = i;
      while (i < n && !isSpace(input[i]) && !isDelimiter(input[i])) i++;
      tokens.push({ type: 'word', start, end: i, text: input.slice(start, i) });
    }
  }
  tokens.push({ type: 'eof', start: n, end: n });
  return tokens;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/** Reads a JSON string literal (RFC 8259 §7) starting at the opening quote. */
function readJsonString(input: string, open: number): { value: string; end: number } {
  let out = '';
  let i = open + 1;
  let chunkStart = i;
  while (i < input.length) {
    const c = input[i];
    if (c === '"') {
      out += input.slice(chunkStart, i);
      // An unpaired \uD800–\uDFFF escape is no character: PostgreSQL's jsonb refuses it (a 500 before this).
      if (!out.isWellFormed())
        throw new ScimFilterError('a string value holds a lone UTF-16 surrogate (an unpaired \\uD800–\\uDFFF escape)', { position: open });
      return { value: out, end: i + 1 };
    }
    if (c === '\\') {
      out += input.slice(chunkStart, i);
      const e = input[i + 1];
      if (e === undefined) break;
      if (e === 'u') {
        const hex = input.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          throw new ScimFilterError(`Invalid \\u escape in string`, { position: i });
        }
        // PostgreSQL text cannot hold U+0000; no stored value can contain it.
        if (hex === '0000') throw new ScimFilterError('U+0000 is not allowed in a string value', { position: i });
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        i += 2;
      } else {
        throw new ScimFilterError(`Invalid escape '\\${e}' in string`, { position: i });
      }
      chunkStart = i;
    } else {
      i++;
    }
  }
  throw new ScimFilterError('Unterminated string literal starting', { position: open });
}

// ---------------------------------------------------------------------------------------------- parser

function describe(t: Token): string {
  switch (t.type) {
    case 'eof':
      return 'end of filter';
    case 'string':
      return 'a string';
    case 'word':
      return quote(t.text, 40);
    default:
      return `'${t.type}'`;
  }
}

class Parser {
  private pos = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly maxDepth: number,
  ) {}

  parse(): FilterNode {
    if (this.peek().type === 'eof') throw new ScimFilterError('Empty filter');
    const node = this.parseOr(0, false);
    const t = this.peek();
    if (t.type !== 'eof') {
      throw new ScimFilterError(`Unexpected ${describe(t)}; expected 'and', 'or' or end of filter`, {
        position: t.start,
      });
    }
    return node;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.tokens[this.pos];
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }

  private isWord(t: Token, word: string): boolean {
    return t.type === 'word' && t.text.toLowerCase() === word;
  }

  private enter(depth: number, at: Token): number {
    const inner = depth + 1;
    if (inner > this.maxDepth) {
      throw new ScimFilterError(`Filter is nested too deeply (maximum ${this.maxDepth} levels)`, {
        position: at.start,
      });
    }
    return inner;
  }

  /** or-chains are built iteratively, left-associative: `a or b or c` = `(a or b) or c`. */
  private parseOr(depth: number, inValuePath: boolean): FilterNode {
    let left = this.parseAnd(depth, inValuePath);
    while (this.isWord(this.peek(), 'or')) {
      this.next();
      const right = this.parseAnd(depth, inValuePath);
      left = { kind: 'or', left, right };
    }
    return left;
  }

  private parseAnd(depth: number, inValuePath: boolean): FilterNode {
    let left = this.parseUnary(depth, inValuePath);
    while (this.isWord(this.peek(), 'and')) {
      this.next();
      const right = this.parseUnary(depth, inValuePath);
      left = { kind: 'and', left, right };
    }
    return left;
  }

  private parseUnary(depth: number, inValuePath: boolean): FilterNode {
    const t = this.peek();
    if (t.type === '(') {
      const inner = this.enter(depth, t);
      this.next();
      const node = this.parseOr(inner, inValuePath);
      this.expectClose(')', t);
      return node;
    }
    if (t.type === 'word' && t.text.toLowerCase() === 'not' && this.startsNegation(this.peek(1))) {
      const inner = this.enter(depth, t);
      this.next();
      const after = this.peek();
      if (after.type === '(') {
        this.next();
        const filter = this.parseOr(inner, inValuePath);
        this.expectClose(')', after);
        return { kind: 'not', filter };
      }
      // Lenient: `not attrExp` without parentheses.
      return { kind: 'not', filter: this.parseUnary(inner, inValuePath) };
    }
    if (t.type === 'word') return this.parseAttrExpression(depth, inValuePath);
    throw new ScimFilterError(`Expected an attribute path but found ${describe(t)}`, { position: t.start });
  }

  /**
   * `not` is the logical operator when "(" or another expression follows; an attribute that happens to be
   * called "not" is followed by an operator or "[" instead (`not pr`, `not eq "x"`).
   */
  private startsNegation(after: Token): boolean {
    if (after.type === '(') return true;
    if (after.type !== 'word') return false;
    const w = after.text.toLowerCase();
    return w === 'not' || !KEYWORDS.has(w);
  }

  private expectClose(type: ')' | ']', open: Token): void {
    const t = this.peek();
    if (t.type === type) {
      this.next();
      return;
    }
    throw new ScimFilterError(`Expected '${type}' to close '${open.type}' opened at position ${open.start} but found ${describe(t)}`, {
      position: t.start,
    });
  }

  private parseAttrExpression(depth: number, inValuePath: boolean): FilterNode {
    const pathToken = this.next() as Extract<Token, { type: 'word' }>;
    const path = parseAttrPathAt(pathToken.text, pathToken.start);
    const t = this.peek();

    if (t.type === '[') {
      if (inValuePath) {
        throw new ScimFilterError('Value filters cannot be nested', { position: t.start });
      }
      if (path.subAttr !== undefined) {
        throw new ScimFilterError(`A value filter applies to a multi-valued attribute, not to the sub-attribute ${quote(pathToken.text)}`, {
          position: t.start,
        });
      }
      const inner = this.enter(depth, t);
      this.next();
      let filter = this.parseOr(inner, true);
      this.expectClose(']', t);

      // Lenient Entra form `emails[type eq "work"].value eq "x"`: the ".value" word must touch the "]".
      const sub = this.peek();
      if (sub.type === 'word' && sub.start === this.tokens[this.pos - 1].end && sub.text.startsWith('.')) {
        this.next();
        const subName = sub.text.slice(1);
        if (!ATTR_NAME_RE.test(subName)) {
          throw new ScimFilterError(`Invalid sub-attribute ${quote(sub.text)}`, { position: sub.start });
        }
        const leaf = this.parseOperatorAndValue({ attr: subName }, sub);
        filter = { kind: 'and', left: filter, right: leaf };
      }
      return { kind: 'valuePath', path, filter };
    }
    return this.parseOperatorAndValue(path, pathToken);
  }

  private parseOperatorAndValue(path: AttrPath, pathToken: Token): FilterNode {
    const opToken = this.next();
    if (opToken.type !== 'word') {
      throw new ScimFilterError(`Expected an operator after ${describe(pathToken)} but found ${describe(opToken)}`, {
        position: opToken.start,
      });
    }
    const op = opToken.text.toLowerCase();
    if (op === 'pr') return { kind: 'present', path };
    if (!COMPARE_OP_SET.has(op)) {
      throw new ScimFilterError(`Unknown operator ${describe(opToken)}; expected one of eq, ne, co, sw, ew, gt, ge, lt, le, pr`, {
        position: opToken.start,
      });
    }
    const value = this.parseValue(opToken);
    return { kind: 'compare', path, op: op as CompareOp, value };
  }

  private parseValue(opToken: Extract<Token, { type: 'word' }>): FilterValue {
    const t = this.peek();
    if (t.type === 'string') {
      this.next();
      return t.value;
    }
    if (t.type !== 'word') {
      throw new ScimFilterError(`Missing value after operator '${opToken.text}'; found ${describe(t)}`, {
        position: t.start,
      });
    }
    const text = t.text;
    const lower = text.toLowerCase();
    if (KEYWORDS.has(lower)) {
      throw new ScimFilterError(`Missing value after operator '${opToken.text}'; found keyword '${text}'`, {
        position: t.start,
      });
    }
    this.next();
    // RFC 7644 §3.4.2.2 says compValue is JSON, where true/false/null are lower case; attribute operators are
    // case-insensitive there, and IdPs write "True" in values elsewhere, so accept any case.
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    if (lower === 'null') return null;
    if (NUMBER_RE.test(text)) {
      const num = Number(text);
      if (!Number.isFinite(num)) {
        throw new ScimFilterError(`Number ${quote(text)} is out of range`, { position: t.start });
      }
      return num;
    }
    if (text.startsWith("'")) {
      throw new ScimFilterError('String values must be in double quotes', { position: t.start });
    }
    // Lenient: a bare word is a string. Microsoft's SCIM tutorial (idp-behaviour.md, M1) shows Entra's lookup as
    // `externalId eq jyoung`; rejecting it would fail the user-matching step. Only a word that is not a
    // keyword, JSON number or JSON literal gets here, so no valid filter changes meaning.
    return text;
  }
}

/**
 * Splits an attribute path: `[URI ":"] ATTRNAME ["." ATTRNAME]`. The URI is everything up to the last ':'
 * (schema URIs contain ':' and '.', e.g. `urn:ietf:params:scim:schemas:core:2.0:User`; attribute names
 * contain neither), so `urn:…:enterprise:2.0:User:manager.value` → urn `urn:…:enterprise:2.0:User`,
 * attr `manager`, subAttr `value`.
 */
function parseAttrPathAt(text: string, position: number | undefined, scimType: ScimFilterErrorType = 'invalidFilter'): AttrPath {
  const colon = text.lastIndexOf(':');
  const urn = colon >= 0 ? text.slice(0, colon) : undefined;
  const rest = colon >= 0 ? text.slice(colon + 1) : text;
  const dot = rest.indexOf('.');
  const attr = dot >= 0 ? rest.slice(0, dot) : rest;
  const subAttr = dot >= 0 ? rest.slice(dot + 1) : undefined;
  if (
    (urn !== undefined && !isSchemaUri(urn)) ||
    !ATTR_NAME_RE.test(attr) ||
    (subAttr !== undefined && !ATTR_NAME_RE.test(subAttr)) // also rejects a second '.'
  ) {
    throw new ScimFilterError(`Invalid attribute path ${quote(text)}`, { position, scimType });
  }
  const path: AttrPath = { attr };
  if (urn !== undefined) path.urn = urn;
  if (subAttr !== undefined) path.subAttr = subAttr;
  return path;
}

/**
 * A schema URI as it appears in attribute paths: a URI scheme and non-empty ':'-separated parts
 * (`urn:ietf:params:scim:schemas:core:2.0:User`). Which schemas exist is the compiler's business.
 */
function isSchemaUri(text: string): boolean {
  const parts = text.split(':');
  return parts.length >= 2 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(parts[0]) && parts.every((p) => p.length > 0);
}

/**
 * Parses a bare attribute path (as used by `sortBy`, RFC 7644 §3.4.2.3). Throws ScimFilterError with the given
 * scimType when malformed.
 */
export function parseAttrPath(text: string, scimType: ScimFilterErrorType = 'invalidFilter'): AttrPath {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  if (trimmed === '' || trimmed.length > DEFAULT_MAX_FILTER_LENGTH || /[\s()[\]"]/.test(trimmed)) {
    throw new ScimFilterError(`Invalid attribute path ${quote(String(text))}`, { scimType });
  }
  return parseAttrPathAt(trimmed, undefined, scimType);
}

/**
 * Parses a SCIM filter (RFC 7644 §3.4.2.2) into an AST. Throws ScimFilterError (scimType `invalidFilter`) with
 * the 0-based position of the problem.
 */
export function parseFilter(input: string, limits: FilterLimits = {}): FilterNode {
  if (typeof input !== 'string') throw new ScimFilterError('Filter must be a string');
  const maxLength = limits.maxLength ?? DEFAULT_MAX_FILTER_LENGTH;
  const maxDepth = Math.min(limits.maxDepth ?? DEFAULT_MAX_FILTER_DEPTH, MAX_DEPTH_CEILING);
  if (input.length > maxLength) {
    throw new ScimFilterError(`Filter is too long (${input.length} characters; maximum ${maxLength})`, {
      position: maxLength,
    });
  }
  return new Parser(tokenize(input), maxDepth).parse();
}
