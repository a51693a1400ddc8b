import { loadConfig } from '../../src/config/load';
import { banner } from '../../src/main';

describe('the start banner', () => {
  const config = loadConfig({ DATA_DIR: '.data-banner' });
  const demoKeys = { subscriberKey: 'tg_test_subscriberSECRET', adminKey: 'tg_test_adminSECRET' };

  it('shows the demo keys on a terminal, with a query to paste', () => {
    const text = banner({ url: 'http://127.0.0.1:4000', demoKeys }, config, true);
    expect(text).toContain('subscriber (PROFESSIONAL): tg_test_subscriberSECRET');
    expect(text).toContain('admin:                     tg_test_adminSECRET');
    expect(text).toContain("-H 'authorization: Bearer tg_test_subscriberSECRET'");
  });

  it('prints no secret when the output is not a terminal: the file, and a command that reads it', () => {
    const text = banner({ url: 'http://127.0.0.1:4000', demoKeys }, config, false);
    expect(text).not.toMatch(/SECRET/);
    expect(text).toContain('.data-banner/demo-keys.json (not printed: this output is not a terminal)');
    expect(text).toContain(`KEY=$(node -p "require('./.data-banner/demo-keys.json').subscriberKey")`);
  });
});
