from setuptools import find_packages, setup


def parse_requirements(path: str = 'requirements.txt') -> list:
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


setup(
    name='mmstablekd',
    version='0.1.0',
    description='StableKD, DIST, SSKD and vanilla KD for the OpenMMLab 2.x stack',
    packages=find_packages(include=['mmstablekd', 'mmstablekd.*']),
    python_requires='>=3.10',
    install_requires=parse_requirements(),
    license='Apache-2.0',
)
