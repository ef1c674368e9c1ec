/** A custom search parameter used across tests: a Patient's eye colour, from an extension. */
export const EYE = 'http://example.org/eye-colour';

export const eyeColour = {
  resourceType: 'SearchParameter',
  url: 'http://example.org/SearchParameter/eye-colour',
  code: 'eye-colour',
  base: ['Patient'],
  type: 'string',
  expression: `Patient.extension.where(url='${EYE}').value`,
};
