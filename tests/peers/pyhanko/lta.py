"""pyHanko makes a PAdES B-LTA file the way its `sign ltvfix` and `sign
timestamp` commands do, without a network: a PAdES signature with a
signature time stamp, then the validation data of that signature added to
the DSS (`pyhanko.sign.validation.add_validation_info`, which `ltvfix`
runs), then a document time stamp with its own validation data
(`PdfTimeStamper.timestamp_pdf`, which `timestamp` runs). CRLs are given
instead of fetched; the TSA is pyHanko's own in-process TSA holding a key
and certificate our CA issued (pyHanko's commands take a TSA URL, and no TSA
runs in the test).

usage: lta.py IN OUT SIGNER_KEY SIGNER_CERT CHAIN TSA_KEY TSA_CERT ROOT CRL...
"""

import sys

from asn1crypto import algos, cms, core
from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.keys import (
    load_cert_from_pemder,
    load_certs_from_pemder,
    load_private_key_from_pemder,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, general, signers, validation
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator import ValidationContext


class EcdsaTimeStamper(DummyTimeStamper):
    """pyHanko's in-process TSA, which signs with RSA only, taught ECDSA
    (the TSA key our P-256 CA certified): the same token, an ECDSA
    signature over the same signed attributes."""

    def _sign_tst_info(self, tst_info_data, md_algorithm, dt):
        digest = hashes.Hash(getattr(hashes, md_algorithm.upper())())
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {
                        "type": "signing_time",
                        "values": [cms.Time({"utc_time": core.UTCTime(dt)})],
                    }
                ),
                cms.CMSAttribute(
                    {
                        "type": "signing_certificate",
                        "values": [general.as_signing_certificate(self.tsa_cert)],
                    }
                ),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [digest.finalize()]}
                ),
            ]
        )
        key = serialization.load_der_private_key(self.tsa_key.dump(), password=None)
        signature = key.sign(
            signed_attrs.dump(), ec.ECDSA(getattr(hashes, md_algorithm.upper())())
        )
        return signature, signed_attrs

    def _build_signed_data(self, tst_info_data, md_algorithm, signature, signed_attrs):
        data = super()._build_signed_data(
            tst_info_data, md_algorithm, signature, signed_attrs
        )
        data["signer_infos"][0]["signature_algorithm"] = algos.SignedDigestAlgorithm(
            {"algorithm": f"{md_algorithm}_ecdsa"}
        )
        return data


def read_crl(path):
    data = open(path, "rb").read()
    if pem.detect(data):
        return [der for _, _, der in pem.unarmor(data, multiple=True)]
    return [data]


def main():
    (inp, out, key, cert, chain, tsa_key, tsa_cert, root), crl_files = (
        sys.argv[1:9],
        sys.argv[9:],
    )
    crls = [asn1_crl.CertificateList.load(d) for f in crl_files for d in read_crl(f)]
    chain_certs = list(load_certs_from_pemder([chain]))
    tsa = EcdsaTimeStamper(
        tsa_cert=load_cert_from_pemder(tsa_cert),
        tsa_key=load_private_key_from_pemder(tsa_key, passphrase=None),
        certs_to_embed=chain_certs,
    )
    vc = lambda: ValidationContext(  # noqa: E731
        trust_roots=[load_cert_from_pemder(root)],
        other_certs=chain_certs,
        crls=crls,
        allow_fetching=False,
        revocation_mode="hard-fail",
    )
    signer = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))
    meta = signers.PdfSignatureMetadata(
        field_name="Theirs",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    with open(inp, "rb") as f:
        signed = signers.sign_pdf(
            IncrementalPdfFileWriter(f), meta, signer=signer, timestamper=tsa
        )
    # ltvfix: the signature's validation data into the DSS.
    sig = next(
        s
        for s in PdfFileReader(signed).embedded_regular_signatures
        if s.field_name == "Theirs"
    )
    fixed = validation.add_validation_info(sig, vc())
    # timestamp: a document time stamp, its TSA's validation data first.
    stamped = signers.PdfTimeStamper(tsa).timestamp_pdf(
        IncrementalPdfFileWriter(fixed), "sha256", vc()
    )
    with open(out, "wb") as f:
        f.write(stamped.getbuffer())


if __name__ == "__main__":
    main()
