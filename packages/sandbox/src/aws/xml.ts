/**
 * The little XML the IAM Query protocol needs: elements only, no
 * attributes except the namespace on the root, lists as `<member>`.
 */

/** A value that {@link xmlElement} can write. `undefined` and `null` are left out. */
export type XmlValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | XmlValue[]
  | { [name: string]: XmlValue };

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text for use in XML content or attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, c => ENTITIES[c]);
}

/**
 * One element: objects become child elements in key order, arrays become
 * `<member>` children (how IAM writes lists), scalars become text.
 */
export function xmlElement(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) {
    return `<${name}>${value
      .map(v => xmlElement('member', v))
      .join('')}</${name}>`;
  }
  if (typeof value === 'object') {
    const children = Object.entries(value)
      .map(([child, v]) => xmlElement(child, v))
      .join('');
    return `<${name}>${children}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}
