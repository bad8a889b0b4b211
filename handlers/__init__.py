"""Lambda handlers. They import only the standard library and boto3, never `components`."""
