import { currentTotpCode } from './totp.ts';

const secret = process.argv[2];
if (!secret || !/^[A-Z2-7]+=*$/.test(secret)) {
  console.error('usage: npm run -s totp -- <base32 TOTP secret>');
  process.exit(2);
}
console.log(currentTotpCode(secret));
