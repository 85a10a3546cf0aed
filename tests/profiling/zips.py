"""Zips shaped like the reference's batches (insured + class), and the broken ones it refuses."""

import io
import zipfile

INSURED = (
    "original_policy_term_number,term_effective_date,experience_mod_factor_initial,new_renew_flag,"
    "insured_name,policy_address,policy_city_name,policy_state_code,policy_zip_code,underwriter\n"
    '1001,7/7/2017,0.95,Y,Acme Roofing,"1234 Anystreet, Anytown, CO",Anytown,CO,01234,ann\n'
    "1002,12/31/2018,1.10,N,Bolt Works,9 Main St,Denver,CO,80202,\n"
    "1003,1/15/2019,,Y,Cobalt Ltd,1 Elm St,Boulder,CO,00501,bob\n"
)
CLASS = (
    "original_policy_term_number,term_effective_date,state_code,class_code,payroll_amount_initial\n"
    "1001,7/7/2017,CO,0042,125000.50\n"
    "1002,12/31/2018,CO,5403,98000\n"
    "1009,1/1/2020,CO,8810,1000\n"
)


def make_zip(members: dict[str, str | bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            archive.writestr(info, content)
    return buffer.getvalue()


def workers_comp_zip() -> bytes:
    return make_zip({"insured.csv": INSURED, "class.csv": CLASS})


def password_protected_zip() -> bytes:
    """A zip whose entries say they are encrypted (Python's zipfile cannot write real ones)."""
    data = bytearray(make_zip({"insured.csv": INSURED}))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = data.find(signature)
        data[position + flag_offset] |= 0x1
    return bytes(data)


def zip_bomb() -> bytes:
    return make_zip({"insured.csv": b"0" * (20 * 1024 * 1024)})
