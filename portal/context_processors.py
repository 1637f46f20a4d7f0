import portal


def version(request) -> dict:
    return {"portal_version": portal.__version__}
