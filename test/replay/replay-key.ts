// The key the recorded histories are encrypted with (a test key, public on purpose): recording and
// replaying go through stackflow's encryption codec as every real run does.
export const REPLAY_ENCRYPTION_KEY = 'vWJ/oZfZukdmhNekb1GOP/Cl7Oc0JHeVba/EMhI80HM=';
