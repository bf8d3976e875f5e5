/**
 * The tests' stand-ins of the upstream APIs, served on their own for a person to try the feeds on
 * a machine without internet access:
 *
 *   npx tsx test/helpers/serve-stand-in.ts irceline
 *   IRCELINE_API_URL=http://127.0.0.1:<port> npm run feed -- irceline --once
 *
 * They answer with the recorded data of test/fixtures/, replayed as the latest hours.
 */
import { startFakeIrceline } from './fake-irceline.js';
import { OPENAQ_KEY, startFakeOpenaq } from './fake-openaq.js';

const [which = 'irceline'] = process.argv.slice(2);
if (which !== 'irceline' && which !== 'openaq') {
  process.stderr.write('Usage: npx tsx test/helpers/serve-stand-in.ts irceline|openaq\n');
  process.exit(2);
}
const stand = which === 'irceline' ? await startFakeIrceline() : await startFakeOpenaq();
const variable = which === 'irceline' ? 'IRCELINE_API_URL' : 'OPENAQ_API_URL';
process.stdout.write(
  `stand-in of ${which === 'irceline' ? 'IRCEL-CELINE' : 'OpenAQ'} at ${stand.url}\n` +
    `  ${variable}=${stand.url}${which === 'openaq' ? ` OPENAQ_API_KEY=${OPENAQ_KEY}` : ''} npm run feed -- ${which} --once\n` +
    'Ctrl-C to stop\n',
);
const stop = async () => {
  await stand.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
