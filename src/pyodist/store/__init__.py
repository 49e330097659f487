"""Where built artifacts are kept: the local cache (``local``) and a shared OCI store
(``oci``). Below ``builder/`` and ``toolchain/``, which both use it; it imports neither."""
