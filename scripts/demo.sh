#!/usr/bin/env bash
# The README's "main job" for now: a short tour of the `yinzheng` CLI on the
# embedded default data directory (./yinzheng-data, or $YINZHENG_HOME).
# Builds the release binary, makes an encrypted SM2 key, signs a file, verifies
# it, shows a tampered file failing (exit 1), and checks the signature with
# OpenSSL when it is installed; then a trust domain (issue, CRL, revoke), the
# anchoring log, a visible seal on a PDF with a time stamp, verified, then
# tampered with; and an e-license issued, checked by id, file and QR token,
# revoked, with its usage records.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p yinzheng-cli
yz="$PWD/target/release/yinzheng"
home="${YINZHENG_HOME:-$PWD/yinzheng-data}"
demo="$home/demo"
mkdir -p "$demo"
cd "$demo"

run() { printf '\n$ %s\n' "$*"; "$@"; }

umask 077
[ -f passphrase ] || head -c 24 /dev/urandom | base64 > passphrase
printf '营业执照 Business licence 91110000000000000X\nissued 2026-11-23 by a demo authority\n' > licence.txt

run "$yz" key gen --alg sm2 --out seal-signer.key.pem --pub-out seal-signer.pub.pem \
    --passphrase-file passphrase --force
run "$yz" digest --alg sm3 licence.txt
run "$yz" sign --key seal-signer.key.pem --passphrase-file passphrase --in licence.txt --out licence.txt.sig
run "$yz" verify --pub seal-signer.pub.pem --sig licence.txt.sig licence.txt

sed 's/2026/2027/' licence.txt > licence-tampered.txt
set +e
run "$yz" verify --pub seal-signer.pub.pem --sig licence.txt.sig licence-tampered.txt
echo "(exit code $? — 1 means: verification failed)"
set -e

if command -v openssl >/dev/null 2>&1; then
  run openssl pkeyutl -verify -pubin -inkey seal-signer.pub.pem -rawin -digest sm3 \
      -pkeyopt distid:1234567812345678 -in licence.txt -sigfile licence.txt.sig
fi
printf '\n--- certificate authority (trust domain in %s/pki/demo)\n' "$home"
export YINZHENG_HOME="$home"
ca=(--domain demo --passphrase-file "$demo/passphrase")
if [ ! -f "$home/pki/demo/root.pem" ]; then
  run "$yz" ca init "${ca[@]}" --subject "CN=Yinzheng Demo Root CA,O=Yinzheng,C=CN"
fi
run "$yz" ca export-roots "${ca[@]}" --out roots.pem
run "$yz" ca issue "${ca[@]}" --profile seal-signer --subject "CN=Example Org,O=Example Org,C=CN" \
    --uscc 91350100M000100Y43 --out org.pem --key-out org.key --key-passphrase-file passphrase
run "$yz" ca crl "${ca[@]}" --out ca.crl
run "$yz" cert verify --trust roots.pem --crl ca.crl org.pem
run "$yz" ca revoke "${ca[@]}" --reason keyCompromise org.pem
run "$yz" ca crl "${ca[@]}" --out ca.crl
set +e
run "$yz" cert verify --trust roots.pem --crl ca.crl org.pem
echo "(exit code $? — the certificate is revoked)"
set -e

printf '\n--- anchoring log (in %s/log)\n' "$home"
if [ ! -f "$home/log/log.vkey" ]; then
  run "$yz" log init --passphrase-file "$demo/passphrase"
fi
out=$(YINZHENG_PASSPHRASE="$(head -1 "$demo/passphrase")" "$yz" log append --type note --data licence.txt --json)
echo "$out"
index=$(printf '%s' "$out" | sed -n 's/.*"index": *\([0-9]*\).*/\1/p')
run "$yz" log prove --index "$index" --out licence.tlog-proof
run "$yz" log verify --vkey "$home/log/log.vkey" licence.tlog-proof

printf '\n--- seals on documents (PDF, national mode: SM2/SM3 CMS carrying the seal)\n'
run "$yz" ca issue "${ca[@]}" --profile seal-maker --subject "CN=Demo Seal Maker,O=Yinzheng,C=CN" \
    --out maker.pem --key-out maker.key --key-passphrase-file passphrase
run "$yz" ca issue "${ca[@]}" --profile seal-signer --subject "CN=Example Org,O=Example Org,C=CN" \
    --uscc 91350100M000100Y43 --out org2.pem --key-out org2.key --key-passphrase-file passphrase
seal_id="demo-$(date +%s)"
run "$yz" seal make --type official --name "示例科技有限公司" --holder-uscc 91350100M000100Y43 \
    --signer-cert org2.pem --maker-cert maker.pem --maker-key maker.key --passphrase-file passphrase \
    --draw --id "$seal_id" --out seal.esl
cp "$OLDPWD/scripts/samples/notice.pdf" notice.pdf
run "$yz" stamp --seal "$seal_id" --key org2.key --passphrase-file passphrase --in notice.pdf \
    --out notice.sealed.pdf --near "Seal here:" --tsa --ca-passphrase-file passphrase --caption "Example Org"
run "$yz" ca crl "${ca[@]}" --out ca.crl
run "$yz" verify --trust roots.pem --crl ca.crl notice.sealed.pdf
LC_ALL=C sed 's/approved/Approved/' notice.sealed.pdf > notice.tampered.pdf
set +e
"$yz" verify --trust roots.pem --crl ca.crl notice.tampered.pdf | head -1
echo "(exit code ${PIPESTATUS[0]} — the page was changed after sealing)"
set -e
if command -v pdftoppm >/dev/null 2>&1; then
  run pdftoppm -png -r 60 -f 1 -l 1 notice.sealed.pdf notice.sealed
fi

printf '\n--- e-licenses (电子证照): issue, check by id, file and QR token, revoke\n'
run "$yz" ca issue "${ca[@]}" --profile seal-signer --subject "CN=示例市市场监督管理局,O=示例市市场监督管理局,C=CN" \
    --uscc 11430000006122244L --out authority.pem --key-out authority.key --key-passphrase-file passphrase
auth_seal="auth-$(date +%s)"
run "$yz" seal make --type official --name "示例市市场监督管理局" --holder-uscc 11430000006122244L \
    --signer-cert authority.pem --maker-cert maker.pem --maker-key maker.key --passphrase-file passphrase \
    --draw --draw-text "示例市市场监督管理局" --id "$auth_seal" --out authority.esl
run "$yz" license types
printf '\n$ yinzheng license issue --type business-licence … --out licence\n'
lic=$("$yz" --json license issue --type business-licence --holder-name "示例科技有限公司" \
    --holder-code 91350100M000100Y43 --field company_type=有限责任公司 --field legal_rep=张三 \
    --field established=2020-01-02 --field "address=示例市示例区示例路1号" \
    --seal "$auth_seal" --key authority.key --passphrase-file passphrase --out licence \
    | sed -n 's/^  "id": "\([^"]*\)".*/\1/p')
echo "issued $lic (licence/license.ofd, licence/license.pdf, licence/issued.tlog-proof)"
run "$yz" log verify --vkey "$home/log/log.vkey" licence/issued.tlog-proof
run "$yz" ca crl "${ca[@]}" --out ca.crl
check=(license check --purpose "办理食品经营许可（演示）" --caller demo-counter --operator 窗口07 --passphrase-file passphrase)
run "$yz" "${check[@]}" "$lic"
run "$yz" "${check[@]}" --trust roots.pem --crl ca.crl licence/license.pdf
token=$("$yz" --json license token "$lic" --ttl 120 --png licence/token.png | sed -n 's/^  "token": "\([^"]*\)".*/\1/p')
run "$yz" license token "$lic" --ttl 60 | head -3
run "$yz" "${check[@]}" --token "$token"
run "$yz" license revoke "$lic" --reason "演示：吊销" --passphrase-file passphrase
set +e
run "$yz" "${check[@]}" --trust roots.pem --crl ca.crl licence/license.pdf
echo "(exit code $? — genuine file, but the license is no longer valid: result code 3)"
set -e
run "$yz" license usage "$lic"

printf '\nFiles are in %s. JSON output: add --json to any command.\n' "$demo"
