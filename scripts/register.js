// Runs the TypeScript sources directly under Node, compiled on load by @swc/core with the same options
// as the tests (jest.config.js). Node's own type stripping cannot be used: type-graphql needs legacy
// decorators and their emitted metadata, which only a real compiler produces.
import { register } from 'node:module';

register('./ts-loader.js', import.meta.url);
