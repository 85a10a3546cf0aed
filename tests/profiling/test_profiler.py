"""The profiler on its own (no Django): what an integrator reads in a profile."""

import pytest

from profiling.profiler.full import full_profile
from profiling.profiler.limits import ProfileLimits
from profiling.profiler.nodes import node_of
from profiling.profiler.preliminary import preliminary_profile
from profiling.profiler.zipcheck import ZipRejected
from tests.profiling.zips import CLASS, INSURED, make_zip, workers_comp_zip


def write(tmp_path, content: bytes):
    path = tmp_path / "batch.zip"
    path.write_bytes(content)
    return path


def column(profile, member, name):
    found = next(m for m in profile["members"] if m["name"] == member)
    return next(c for c in found["columns"] if c["name"] == name)


@pytest.fixture
def profile(tmp_path):
    return full_profile(write(tmp_path, workers_comp_zip()))


@pytest.mark.parametrize(
    ("name", "node"),
    [
        ("insured.csv", "insured"),
        ("Insured_2017.psv", "insured"),
        ("class.txt", "class"),
        ("units.tsv", "unit"),
        ("term.csv", "term"),
        ("claim_detail.csv", "claim"),
        ("payroll.csv", "unknown"),
    ],
)
def test_a_member_is_the_node_its_name_says(name, node):
    assert node_of(name) == node


def test_the_preliminary_profile_reads_the_header_delimiter_encoding_and_estimates_rows(tmp_path):
    profile = preliminary_profile(write(tmp_path, workers_comp_zip()))
    insured = next(m for m in profile["members"] if m["node"] == "insured")
    assert profile["linesOfBusiness"] == ["workers compensation"]
    assert (insured["delimiter"], insured["encoding"], insured["hasHeader"]) == ("comma", "utf-8", True)
    assert insured["header"][:2] == ["original_policy_term_number", "term_effective_date"]
    assert (insured["rowEstimate"], insured["rowEstimateExact"]) == (3, True)


def test_the_preliminary_profile_estimates_rows_of_a_member_larger_than_its_head(tmp_path):
    body = "id,name\n" + "".join(f"{i},name{i:06d}\n" for i in range(100_000))
    profile = preliminary_profile(
        write(tmp_path, make_zip({"insured.csv": body})), limits=ProfileLimits(head_bytes=4096)
    )
    member = profile["members"][0]
    assert member["rowEstimateExact"] is False
    assert 75_000 < member["rowEstimate"] < 125_000  # the head's lines are shorter (small ids)


def test_a_txt_member_gets_its_delimiter_sniffed_and_latin1_is_recognised(tmp_path):
    body = "id|name|city\n1|Zoë|Malmö\n2|Åsa|Göteborg\n".encode("cp1252")
    member = preliminary_profile(write(tmp_path, make_zip({"insured.txt": body})))["members"][0]
    assert (member["delimiter"], member["encoding"], member["header"]) == (
        "pipe",
        "windows-1252",
        ["id", "name", "city"],
    )


def test_columns_are_typed_zip_codes_keep_their_zeros_and_dates_their_format(profile):
    assert column(profile, "insured.csv", "original_policy_term_number")["type"] == "integer"
    date = column(profile, "insured.csv", "term_effective_date")
    assert (date["type"], date["dateFormat"], date["min"], date["max"]) == (
        "date",
        "M/D/YYYY",
        "2017-07-07",
        "2019-01-15",
    )
    assert column(profile, "insured.csv", "experience_mod_factor_initial")["type"] == "decimal"
    assert column(profile, "insured.csv", "new_renew_flag")["type"] == "flag"
    zip_code = column(profile, "insured.csv", "policy_zip_code")
    assert (zip_code["type"], zip_code["leadingZeros"], zip_code["min"]) == ("text", True, "00501")
    assert sorted(zip_code["samples"]) == ["00501", "01234", "80202"]
    class_code = column(profile, "class.csv", "class_code")
    assert (class_code["type"], class_code["min"]) == ("text", "0042")


def test_fill_rate_distinct_counts_top_values_and_means(profile):
    underwriter = column(profile, "insured.csv", "underwriter")
    assert (underwriter["nullCount"], underwriter["fillRate"]) == (1, 0.6667)
    assert (underwriter["distinctCount"], underwriter["distinctExact"]) == (2, True)
    flag = column(profile, "insured.csv", "new_renew_flag")
    assert flag["topValues"] == [{"value": "Y", "count": 2}, {"value": "N", "count": 1}]
    payroll = column(profile, "class.csv", "payroll_amount_initial")
    assert payroll["mean"] == pytest.approx((125000.50 + 98000 + 1000) / 3)
    assert sum(bucket["count"] for bucket in payroll["histogram"]) == 3


def test_distinct_counts_above_the_threshold_are_approximate_and_say_so(tmp_path):
    body = "id\n" + "".join(f"{i}\n" for i in range(5000))
    profile = full_profile(
        write(tmp_path, make_zip({"insured.csv": body})), limits=ProfileLimits(exact_distinct_threshold=100)
    )
    ids = profile["members"][0]["columns"][0]
    assert ids["distinctExact"] is False
    assert 4500 < ids["distinctCount"] < 5500


def test_rows_are_counted_exactly_and_malformed_ones_are_listed_with_their_line(profile, tmp_path):
    assert profile["members"][0]["rowCount"] == 3
    body = 'id,name,amount\n1,a,10\n2,b,20,extra\n3,"c"x,30\n4,d\n5,e,50\n'
    member = full_profile(write(tmp_path, make_zip({"insured.csv": body})))["members"][0]
    assert (member["rowCount"], member["wellFormedRowCount"], member["malformedRowCount"]) == (5, 2, 3)
    assert [(row["line"], row["problem"]) for row in member["malformedRows"]] == [
        (3, "wrong field count"),
        (4, "bad quoting"),
        (5, "wrong field count"),
    ]


def test_malformed_rows_listed_are_capped(tmp_path):
    body = "id,name\n" + "".join(f"{i},x,y\n" for i in range(50))
    member = full_profile(
        write(tmp_path, make_zip({"insured.csv": body})), limits=ProfileLimits(malformed_rows_cap=10)
    )["members"][0]
    assert (member["malformedRowCount"], len(member["malformedRows"]), member["malformedRowsCapped"]) == (50, 10, True)


def test_class_rows_whose_policy_term_has_no_insured_row_are_found(profile):
    (check,) = profile["crossMemberChecks"]
    assert (check["status"], check["count"]) == ("FOUND", 1)
    assert check["examples"] == [{"original_policy_term_number": "1009", "term_effective_date": "1/1/2020"}]


def test_units_whose_policy_has_no_term_are_found(tmp_path):
    term = "policy_number\tterm_effective_date\tinsured_name\nP01\t7/7/2017\tAcme\n"
    unit = "unit_vin\tpolicy_number\tterm_effective_date\nV1\tP01\t7/7/2017\nV2\tP02\t7/7/2017\n"
    profile = full_profile(write(tmp_path, make_zip({"term.tsv": term, "unit.tsv": unit})))
    (check,) = profile["crossMemberChecks"]
    assert (check["check"], check["count"]) == ("unit rows whose policy has no term row", 1)


def test_a_class_file_without_an_insured_file_skips_the_check_and_says_why(tmp_path):
    profile = full_profile(write(tmp_path, make_zip({"class.csv": CLASS})))
    assert profile["crossMemberChecks"][0]["status"] == "SKIPPED"


def test_pipe_and_tab_members_are_read_with_their_delimiter(tmp_path):
    psv = INSURED.replace('"1234 Anystreet, Anytown, CO"', "1234 Anystreet").replace(",", "|")
    member = full_profile(write(tmp_path, make_zip({"insured.psv": psv})))["members"][0]
    assert member["delimiter"] == "pipe"
    assert member["rowCount"] == 3
    assert member["columns"][8]["name"] == "policy_zip_code"


def test_a_zip_breaking_a_rule_is_refused_before_any_member_is_read(tmp_path):
    with pytest.raises(ZipRejected):
        full_profile(write(tmp_path, make_zip({"a/insured.csv": INSURED})))


def test_many_distinct_values_are_counted_exactly_under_the_threshold_and_ids_have_no_top_values(tmp_path):
    body = "id,group\n" + "".join(f"{i},g{i % 1500}\n" for i in range(6000))
    id_column, group = full_profile(write(tmp_path, make_zip({"insured.csv": body})))["members"][0]["columns"]
    assert (group["distinctCount"], group["distinctExact"]) == (1500, True)
    assert [top["count"] for top in group["topValues"]] == [4, 4, 4, 4, 4]
    assert (id_column["distinctCount"], id_column["topValues"]) == (6000, [])


def test_a_header_naming_a_column_twice_is_still_a_header(tmp_path):
    body = "id,amount,amount\n1,10,20\n2,30,40\n"
    member = full_profile(write(tmp_path, make_zip({"class.csv": body})))["members"][0]
    assert [column["name"] for column in member["columns"]] == ["id", "amount", "amount_2"]
    assert member["rowCount"] == 2


def test_an_empty_member_is_profiled_as_empty(tmp_path):
    member = full_profile(write(tmp_path, make_zip({"claim.csv": ""})))["members"][0]
    assert (member["rowCount"], member["columns"]) == (0, [])


def test_a_number_column_with_inf_further_down_is_text_not_a_broken_profile(tmp_path):
    body = "amount\n" + "1.5\n" * 3000 + "inf\n"
    column = full_profile(write(tmp_path, make_zip({"class.csv": body})))["members"][0]["columns"][0]
    assert (column["type"], column["max"]) == ("text", "inf")


def test_a_member_larger_than_duckdbs_buffers_profiles_within_the_memory_limit(tmp_path):
    # 10 MB lines asked duckdb for 152 MiB buffers: a member past one failed under 256 MB (profbench).
    row = "1000001,7/7/2017,0.95,Y,Acme Roofing,1234 Anystreet,Anytown,CO,01234,ann\n"
    body = "a,b,c,d,e,f,g,h,zip,u\n" + row * 500_000  # 38 MB
    content = make_zip({"insured.csv": body}, compression=0)  # one repeated row would look like a zip bomb
    member = full_profile(write(tmp_path, content), limits=ProfileLimits(memory_limit="64MB"))["members"][0]
    assert member["rowCount"] == 500_000


def test_a_column_mostly_of_one_type_is_text_with_the_count_of_values_of_that_type(tmp_path):
    rows = "".join(f"{i},7/{i % 28 + 1}/2017,{i}.5\n" for i in range(90)) + "".join(
        f"{i},someday,n/a\n" for i in range(90, 100)
    )
    path = tmp_path / "b.zip"
    path.write_bytes(make_zip({"insured.csv": "id,date,amount\n" + rows}))
    columns = {column["name"]: column for column in full_profile(path)["members"][0]["columns"]}
    assert (columns["date"]["type"], columns["date"]["typeMatches"]) == ("text", {"date": 90})
    assert (columns["amount"]["type"], columns["amount"]["typeMatches"]) == ("text", {"decimal": 90})
    assert (columns["id"]["type"], columns["id"]["typeMatches"]) == ("integer", {})


def test_a_column_of_one_type_throughout_keeps_its_type_and_no_matches(profile):
    columns = {column["name"]: column for column in profile["members"][0]["columns"]}
    assert (columns["term_effective_date"]["type"], columns["term_effective_date"]["typeMatches"]) == ("date", {})
    # Zip codes: integers by their digits, text for their leading zeros.
    assert columns["policy_zip_code"]["typeMatches"] == {"integer": 3}
