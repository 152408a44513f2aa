import { Document, Scalar, isScalar, parse, visit } from 'yaml';

/**
 * Characters that must never appear raw in the output: libyaml (and so
 * go-yaml, which kubectl and ArgoCD use) rejects C1 controls, DEL and the
 * non-characters, treats U+2028/U+2029/U+0085 as line breaks, and a BOM in
 * the middle of a file is an error. Lone surrogates cannot be UTF-8 at all.
 * Strings containing any of these are written double-quoted with escapes.
 */
const NEEDS_ESCAPE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const RAW_AFTER_QUOTING = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

const YAML_11_WORDS =
  /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$/;

/**
 * True when `text`, written as a plain scalar, reads back as the same
 * string under both YAML 1.1 (go-yaml v2, where `yes`, `on`, `0o17` or
 * `1_000` are not strings) and YAML 1.2.
 */
function plainMeansSame(text: string): boolean {
  // Fast path for the common case (names, paths, hosts): a letter first and
  // only word characters after it is a string in both versions, except for
  // the YAML 1.1 booleans and null.
  // Not for `e9` and the like: the YAML 1.1 float pattern makes the digits
  // before the exponent optional, so some readers take them as numbers.
  if (/^[A-Za-z][A-Za-z0-9._/-]*$/.test(text) && !/^[eE][-+]?[0-9]/.test(text)) {
    return !YAML_11_WORDS.test(text);
  }
  // go-yaml v2 resolves `<<` (merge) and some tools `=` (value) specially.
  if (text === '<<' || text === '=') return false;
  for (const version of ['1.1', '1.2'] as const) {
    try {
      if (parse(text, { version, logLevel: 'silent' }) !== text) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * A literal block (`|`) keeps multi-line text readable. It is only chosen
 * when it cannot change the text: no tabs or controls (excluded earlier),
 * no trailing spaces on a line and no leading space on the first line.
 */
function literalBlockIsSafe(text: string): boolean {
  return (
    !text.startsWith(' ') && !text.split('\n').some(line => line.endsWith(' '))
  );
}

function chooseStyle(text: string): Scalar.Type | undefined {
  if (NEEDS_ESCAPE.test(text) || text.includes('\t') || text.includes('\r')) {
    return 'QUOTE_DOUBLE';
  }
  if (text.includes('\n')) {
    return literalBlockIsSafe(text) ? 'BLOCK_LITERAL' : 'QUOTE_DOUBLE';
  }
  // Leave the library's default (plain where possible) for unambiguous text,
  // so lines like `image: registry/app:tag` stay greppable.
  return plainMeansSame(text) ? undefined : 'QUOTE_DOUBLE';
}

function escapeRaw(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Serialises one object as a YAML document that reads back identically
 * under YAML 1.1 and 1.2, whatever characters its strings contain. Key
 * order is the object's insertion order, so output is deterministic.
 */
export function toYaml(value: unknown): string {
  // No anchors/aliases for objects used twice (shared label maps): each
  // file must read as plain data to every tool and every human.
  // Written as YAML 1.2 (in 1.1 mode the library insists on writing `<<`
  // plain, as a merge key); chooseStyle adds the quoting 1.1 readers need.
  const doc = new Document(value, {
    version: '1.2',
    aliasDuplicateObjects: false,
  });
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string') {
        const style = chooseStyle(node.value);
        if (style) node.type = style;
      }
    },
  });
  const text = doc.toString({
    lineWidth: 0,
    minContentWidth: 0,
    blockQuote: 'literal',
  });
  // Only double-quoted scalars can contain these characters (see
  // chooseStyle), and inside double quotes a \u escape is always valid.
  return text.replace(RAW_AFTER_QUOTING, escapeRaw);
}

/** Parses one YAML document (YAML 1.2, the library default). */
export function fromYaml(
  text: string,
  version: '1.1' | '1.2' = '1.2',
): unknown {
  return parse(text, { version });
}
