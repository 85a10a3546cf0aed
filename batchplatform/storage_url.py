"""`STORAGE_URL` -> a Django STORAGES entry, so workers on other machines read the same files.

    s3://bucket/optional/prefix?endpoint_url=http://127.0.0.1:9000&region_name=eu-west-1
Credentials are not in the URL: boto3 reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY itself.
"""

from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import ImproperlyConfigured

_S3_OPTIONS = {"endpoint_url", "region_name", "addressing_style", "signature_version", "custom_domain"}


def storage_from_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ImproperlyConfigured(f"STORAGE_URL scheme {parts.scheme!r} is not supported (use s3://bucket/prefix)")
    if not parts.netloc:
        raise ImproperlyConfigured("STORAGE_URL needs a bucket: s3://bucket/prefix")
    options = {"bucket_name": parts.netloc, "location": parts.path.strip("/"), "file_overwrite": False}
    for key, value in parse_qsl(parts.query):
        if key not in _S3_OPTIONS:
            raise ImproperlyConfigured(
                f"STORAGE_URL option {key!r} is unknown (known: {', '.join(sorted(_S3_OPTIONS))})"
            )
        options[key] = value
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
