// @lever/client: the Codama-generated client of the Lever program (`./generated`, from
// idls/lever.json by `npm run generate`) and the hand-written helpers a wallet needs.
export * from './generated';
export * from './pda';
export * from './keys';
export * from './errors';
export * from './flow';
