"""`python -m asterai_kernel -f CONNECTION_FILE`: what the kernelspec runs."""

from ipykernel.kernelapp import IPKernelApp

from .kernel import AsteraiKernel

if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=AsteraiKernel)
