// Every name in consul-template's funcMap (template/template.go of the version Vault 1.15.6 uses,
// listed here) is either one of our functions or named in UNSUPPORTED_FUNCTIONS with a reason; a
// template calling an unsupported one fails to parse with text/template's "function not defined".
import { expect } from 'chai';
import { createFuncs, UNSUPPORTED_FUNCTIONS, type RenderContext } from '../../../src/template/functions/index.js';
import { parseTemplate } from '../../../src/template/engine/index.js';
import { TemplateError } from '../../../src/template/types.js';

const CONSUL_TEMPLATE_FUNC_MAP = `datacenters file key keyExists keyOrDefault ls safeLs node nodes peerings secret secrets service
  connect services tree safeTree caRoots caLeaf pkiCert nomadServices nomadService nomadVarList nomadVarListSafe nomadVar
  nomadVarExists scratch base64Decode base64Encode base64URLDecode base64URLEncode byKey byTag contains containsAll
  containsAny containsNone containsNotAll env mustEnv envOrDefault executeTemplate explode explodeMap mergeMap
  mergeMapWithOverride in indent loop join trim trimPrefix trimSuffix trimSpace parseBool parseFloat parseInt parseJSON
  parseUint parseYAML plugin regexReplaceAll regexMatch replaceAll sha256Hex md5sum hmacSHA256Hex timestamp toLower toJSON
  toJSONPretty toUnescapedJSON toUnescapedJSONPretty toTitle toTOML toUpper toYAML split splitToMap byMeta sockaddr
  writeToFile add subtract multiply divide modulo minimum maximum spew_dump spew_printf spew_sdump spew_sprintf`.split(/\s+/);

const ctx: RenderContext = {
  vault: { request: async () => ({ status: 500, text: '' }) },
  env: () => undefined,
  readFile: async () => '',
  used: [],
};

describe('unit: template functions cover consul-template\'s funcMap', () => {
  const funcs = createFuncs(ctx);

  it(`each of its ${CONSUL_TEMPLATE_FUNC_MAP.length} names is implemented or refused with a reason; nothing else is registered`, () => {
    const missing = CONSUL_TEMPLATE_FUNC_MAP.filter((f) => !(f in funcs) && !(f in UNSUPPORTED_FUNCTIONS));
    expect(missing).to.deep.equal([]);
    const both = CONSUL_TEMPLATE_FUNC_MAP.filter((f) => f in funcs && f in UNSUPPORTED_FUNCTIONS);
    expect(both).to.deep.equal([]);
    expect(Object.keys(funcs).filter((f) => !CONSUL_TEMPLATE_FUNC_MAP.includes(f))).to.deep.equal([]);
    for (const reason of Object.values(UNSUPPORTED_FUNCTIONS)) expect(reason).to.be.a('string').with.length.above(10);
  });

  it('a template calling an unsupported function (sprig_* included) fails to parse with text/template\'s error', () => {
    for (const name of [...Object.keys(UNSUPPORTED_FUNCTIONS).filter((f) => f !== 'sprig_*'), 'sprig_upper']) {
      let err: unknown;
      try { parseTemplate('', `x {{ ${name} "a" }}`, { funcs }); } catch (e) { err = e; }
      expect(err, name).to.be.instanceOf(TemplateError);
      expect((err as TemplateError).message).to.equal(`template: :1: function "${name}" not defined`);
    }
  });
});
